#pragma once

// Sample messages of every kind, with values the tests check on the other side.

#include <cstdint>
#include <memory>

#include <capnp/message.h>
#include <doctest/doctest.h>

#include "pgc/net/schema/pgc.capnp.h"

namespace pgc::net::test {

using wire_kind = wire::Envelope::Which;

inline constexpr wire_kind all_kinds[] = {wire_kind::HELLO,
                                          wire_kind::WELCOME,
                                          wire_kind::START_ITERATION,
                                          wire_kind::PROGRESS,
                                          wire_kind::ENCODE_AND_TRANSMIT,
                                          wire_kind::ENCODED,
                                          wire_kind::HEARTBEAT,
                                          wire_kind::SHUTDOWN,
                                          wire_kind::ERROR,
                                          wire_kind::CHALLENGE};
// Not in all_kinds: SharedFrame, which a channel resolves instead of returning (it names a slot
// of shared memory; tests/net/test_shared_memory.cpp). make_message() and check_message() know
// it all the same.

// N = 3, m = 3, ell = 2, d = 10, cyclic lists of two chunks; this is worker 1.
inline void fill_welcome(wire::Welcome::Builder w) {
  w.setWorkerId(1);
  w.setWorkers(3);
  w.setChunks(3);
  w.setEll(2);
  w.setDimension(10);
  auto r = w.initR(6);
  for (unsigned i = 0; i < 6; ++i)
    r.set(i, 0.5 * i - 1.25);
  w.setScheme(wire::Scheme::FRACTIONAL_REPETITION);
  w.setMode(wire::Mode::APPROXIMATE);
  w.setHeartbeatIntervalMs(250);
  w.setDeadlineMs(1500);
  auto lists = w.initAssignment(3);
  for (unsigned i = 0; i < 3; ++i) {
    auto list = lists.init(i, 2);
    list.set(0, i);
    list.set(1, (i + 1) % 3);
  }
  w.setLoad(2);
  w.setSeed(0x0123456789abcdefULL);
}

inline std::unique_ptr<capnp::MallocMessageBuilder> make_message(wire_kind kind) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto e = message->initRoot<wire::Envelope>();
  switch (kind) {
    case wire_kind::HELLO: {
      auto h = e.initHello();
      h.setProtocolVersion(wire::PROTOCOL_VERSION);
      h.setWorkerName("worker-7");
      break;
    }
    case wire_kind::WELCOME:
      fill_welcome(e.initWelcome());
      break;
    case wire_kind::START_ITERATION: {
      auto s = e.initStartIteration();
      s.setIteration(41);
      auto model = s.initModel(4);
      for (unsigned i = 0; i < 4; ++i)
        model.set(i, 1.0 / (i + 1));
      break;
    }
    case wire_kind::PROGRESS: {
      auto p = e.initProgress();
      p.setIteration(41);
      p.setChunksDone(2);
      break;
    }
    case wire_kind::ENCODE_AND_TRANSMIT: {
      auto t = e.initEncodeAndTransmit();
      t.setIteration(41);
      t.setEpoch(3);
      auto s = t.initState(3);
      s.set(0, 2);
      s.set(1, 0);
      s.set(2, 1);
      break;
    }
    case wire_kind::ENCODED: {
      auto c = e.initEncoded();
      c.setIteration(41);
      c.setEpoch(3);
      auto y = c.initPayload(5);
      for (unsigned i = 0; i < 5; ++i)
        y.set(i, -2.5 * i);
      break;
    }
    case wire_kind::HEARTBEAT:
      e.initHeartbeat();
      break;
    case wire_kind::SHUTDOWN:
      e.initShutdown().setReason("training finished");
      break;
    case wire_kind::ERROR: {
      auto x = e.initError();
      x.setCode(5);
      x.setText("worker-7 is already registered");
      break;
    }
    case wire_kind::CHALLENGE: {
      std::uint8_t nonce[32];
      for (unsigned i = 0; i < 32; ++i)
        nonce[i] = static_cast<std::uint8_t>(7 * i + 1);
      e.initChallenge().setNonce(capnp::Data::Reader(nonce, 32));
      break;
    }
    case wire_kind::SHARED: {
      auto s = e.initShared();
      s.setSlot(2);
      s.setWords(123456);
      break;
    }
  }
  return message;
}

// Every value make_message(kind) set.
inline void check_message(wire_kind kind, wire::Envelope::Reader e) {
  REQUIRE(e.which() == kind);
  switch (kind) {
    case wire_kind::HELLO:
      CHECK(e.getHello().getProtocolVersion() == wire::PROTOCOL_VERSION);
      CHECK(e.getHello().getWorkerName() == "worker-7");
      break;
    case wire_kind::WELCOME: {
      const auto w = e.getWelcome();
      CHECK(w.getWorkerId() == 1);
      CHECK(w.getWorkers() == 3);
      CHECK(w.getChunks() == 3);
      CHECK(w.getEll() == 2);
      CHECK(w.getDimension() == 10);
      CHECK(!w.hasChunkOrder());  // no longer written: assignment[workerId] is the list
      REQUIRE(w.getR().size() == 6);
      for (unsigned i = 0; i < 6; ++i)
        CHECK(w.getR()[i] == 0.5 * i - 1.25);
      CHECK(w.getScheme() == wire::Scheme::FRACTIONAL_REPETITION);
      CHECK(w.getMode() == wire::Mode::APPROXIMATE);
      CHECK(w.getHeartbeatIntervalMs() == 250);
      CHECK(w.getDeadlineMs() == 1500);
      REQUIRE(w.getAssignment().size() == 3);
      for (unsigned i = 0; i < 3; ++i) {
        REQUIRE(w.getAssignment()[i].size() == 2);
        CHECK(w.getAssignment()[i][0] == i);
        CHECK(w.getAssignment()[i][1] == (i + 1) % 3);
      }
      CHECK(w.getLoad() == 2);
      CHECK(w.getSeed() == 0x0123456789abcdefULL);
      break;
    }
    case wire_kind::START_ITERATION: {
      CHECK(e.getStartIteration().getIteration() == 41);
      const auto model = e.getStartIteration().getModel();
      REQUIRE(model.size() == 4);
      for (unsigned i = 0; i < 4; ++i)
        CHECK(model[i] == 1.0 / (i + 1));
      break;
    }
    case wire_kind::PROGRESS:
      CHECK(e.getProgress().getIteration() == 41);
      CHECK(e.getProgress().getChunksDone() == 2);
      break;
    case wire_kind::ENCODE_AND_TRANSMIT: {
      const auto t = e.getEncodeAndTransmit();
      CHECK(t.getIteration() == 41);
      CHECK(t.getEpoch() == 3);
      REQUIRE(t.getState().size() == 3);
      CHECK(t.getState()[0] == 2);
      CHECK(t.getState()[1] == 0);
      CHECK(t.getState()[2] == 1);
      break;
    }
    case wire_kind::ENCODED: {
      const auto c = e.getEncoded();
      CHECK(c.getIteration() == 41);
      CHECK(c.getEpoch() == 3);
      REQUIRE(c.getPayload().size() == 5);
      for (unsigned i = 0; i < 5; ++i)
        CHECK(c.getPayload()[i] == -2.5 * i);
      break;
    }
    case wire_kind::HEARTBEAT:
      break;
    case wire_kind::SHUTDOWN:
      CHECK(e.getShutdown().getReason() == "training finished");
      break;
    case wire_kind::ERROR:
      CHECK(e.getError().getCode() == 5);
      CHECK(e.getError().getText() == "worker-7 is already registered");
      break;
    case wire_kind::CHALLENGE: {
      const auto nonce = e.getChallenge().getNonce();
      REQUIRE(nonce.size() == 32);
      for (unsigned i = 0; i < 32; ++i)
        CHECK(nonce[i] == static_cast<std::uint8_t>(7 * i + 1));
      break;
    }
    case wire_kind::SHARED:
      CHECK(e.getShared().getSlot() == 2);
      CHECK(e.getShared().getWords() == 123456);
      break;
  }
}

}  // namespace pgc::net::test
