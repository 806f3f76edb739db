#include <limits>

#include <capnp/any.h>
#include <capnp/message.h>
#include <doctest/doctest.h>

#include "pgc/net/envelope.hpp"
#include "wire_samples.hpp"

namespace {

namespace wire = pgc::net::wire;
using pgc::net::envelope_problem;
using pgc::net::test::wire_kind;

// A valid Welcome, changed by `edit`, and the problem the check reports.
template <class Edit>
std::string welcome_problem(Edit edit) {
  capnp::MallocMessageBuilder message;
  auto w = message.initRoot<wire::Envelope>().initWelcome();
  pgc::net::test::fill_welcome(w);
  edit(w);
  return envelope_problem(message.getRoot<wire::Envelope>().asReader());
}

}  // namespace

TEST_CASE("every sample message passes the envelope check") {
  for (const auto kind : pgc::net::test::all_kinds) {
    auto message = pgc::net::test::make_message(kind);
    CHECK(envelope_problem(message->getRoot<wire::Envelope>().asReader()) == "");
  }
}

TEST_CASE("a welcome whose R is not ell by N entries is rejected") {
  const auto why = welcome_problem([](wire::Welcome::Builder w) { w.initR(5); });
  CHECK(why == "welcome: R has 5 entries; ell * N = 6");
}

TEST_CASE("a welcome with inconsistent sizes or chunk lists is rejected") {
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.setEll(4); }) ==
        "welcome: ell exceeds the number of workers");
  CHECK(welcome_problem([](wire::Welcome::Builder w) {
          w.setDimension(0);
        }).find("must be positive") != std::string::npos);
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.setWorkerId(3); }).find("worker id") !=
        std::string::npos);
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.getAssignment()[1].set(1, 3); }) ==
        "welcome: list of worker 1: a chunk id is not below the number of chunks");
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.getAssignment()[2].set(1, 2); }) ==
        "welcome: list of worker 2: a chunk is listed twice");
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.initAssignment(2); }) ==
        "welcome: the assignment has 2 lists for 3 workers");
  CHECK(welcome_problem([](wire::Welcome::Builder w) {
          w.getR().set(0, std::numeric_limits<double>::quiet_NaN());
        }) == "welcome: R has a non-finite entry");
}

// Found by tests/fuzz: a Welcome of a few hundred bytes with m near 2^32 made the worker build
// m-sized tables (gigabytes) before the scheme noticed that no worker holds most chunks.
TEST_CASE("a welcome announcing more chunks than its lists hold is rejected") {
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.setChunks(4000000000u); }) ==
        "welcome: 4000000000 chunks but the assignment lists only 6 entries");
  CHECK(welcome_problem([](wire::Welcome::Builder w) { w.setChunks(7); }) ==
        "welcome: 7 chunks but the assignment lists only 6 entries");
}

// Found by tests/fuzz: an offer whose socket name was NUL bytes read as an empty name.
TEST_CASE("a welcome's shared-memory offer needs a plain socket name and a 16-byte token") {
  const std::uint8_t token[16] = {1, 2, 3};
  const auto offer = [&](const char* name, std::size_t name_bytes, std::size_t token_bytes) {
    return welcome_problem([&](wire::Welcome::Builder w) {
      auto o = w.initSharedMemory();
      o.setSocket(capnp::Text::Reader(name, name_bytes));
      o.setToken(capnp::Data::Reader(token, token_bytes));
    });
  };
  CHECK(offer("pgc-ps-0123abcd", 15, 16) == "");
  const std::string bad_name =
      "welcome: the shared-memory socket name must be 1 to 100 letters, digits, '-', '_' or '.'";
  CHECK(offer("\0\0", 2, 16) == bad_name);
  CHECK(offer("", 0, 16) == bad_name);
  CHECK(offer("../x", 4, 16) == bad_name);
  CHECK(offer("a b", 3, 16) == bad_name);
  const std::string long_name(101, 'a');
  CHECK(offer(long_name.c_str(), long_name.size(), 16) == bad_name);
  CHECK(offer("pgc-ps-0123abcd", 15, 15) == "welcome: the shared-memory token must be 16 bytes");
}

TEST_CASE("an encode and transmit without a state vector is rejected") {
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::Envelope>().initEncodeAndTransmit().setIteration(1);
  CHECK(envelope_problem(message.getRoot<wire::Envelope>().asReader()) ==
        "encode and transmit: empty state vector");
}

TEST_CASE("an unknown message kind is named by its number") {
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<wire::Envelope>();
  e.initHeartbeat();
  // The union tag is the first 16 bits of the data section; a newer peer could send 99.
  auto data = capnp::AnyStruct::Builder(std::move(e)).getDataSection();
  data[0] = 99;
  data[1] = 0;
  CHECK(envelope_problem(message.getRoot<wire::Envelope>().asReader()) ==
        "unknown message kind 99");
}

TEST_CASE("message kinds have stable names for logs") {
  CHECK(pgc::net::kind_name(wire_kind::HELLO) == "hello");
  CHECK(pgc::net::kind_name(wire_kind::ENCODE_AND_TRANSMIT) == "encode_and_transmit");
  CHECK(pgc::net::kind_name(wire_kind::ERROR) == "error");
}
