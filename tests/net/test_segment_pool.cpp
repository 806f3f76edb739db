#include <cstring>
#include <memory>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <doctest/doctest.h>

#include "pgc/net/outgoing_frame.hpp"
#include "pgc/net/schema/pgc.capnp.h"
#include "pgc/net/segment_pool.hpp"

using namespace pgc::net;

namespace {

void fill(capnp::MessageBuilder& m, unsigned n, double base, bool narrow_too = false) {
  auto e = m.initRoot<wire::Envelope>().initEncoded();
  e.setIteration(7);
  auto l = e.initPayload(n);
  for (unsigned k = 0; k < n; ++k)
    l.set(k, base + k);
  if (narrow_too) {
    auto f = e.initPayload32(n);
    for (unsigned k = 0; k < n; ++k)
      f.set(k, 1.0f);
  }
}

}  // namespace

TEST_CASE("a pooled builder reuses its segment and builds the same bytes as a malloc builder") {
  const auto pool = segment_pool::create(1);
  const unsigned n = 1000;
  const capnp::word* first = nullptr;
  for (int round = 0; round < 3; ++round) {
    auto pooled = pool->builder(2 * list_message_words(n, sizeof(double)));
    // Round 0 dirties more of the buffer than the later ones use: they must find it zeroed.
    fill(*pooled, n, round, round == 0);
    auto plain = std::make_unique<capnp::MallocMessageBuilder>(
        static_cast<unsigned>(2 * list_message_words(n, sizeof(double))));
    fill(*plain, n, round, round == 0);
    const auto segments = pooled->getSegmentsForOutput();
    REQUIRE(segments.size() == 1);  // the estimate held the whole message
    if (round == 0) first = segments[0].begin();
    CHECK(segments[0].begin() == first);  // the same buffer every time
    const outgoing_frame a(std::move(pooled));
    const outgoing_frame b(std::move(plain));
    CHECK(a.to_bytes() == b.to_bytes());
    if (round > 0) {
      const auto bytes = a.to_bytes();
      kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
      std::memcpy(words.begin(), bytes.data(), bytes.size());
      capnp::FlatArrayMessageReader reader(words);
      CHECK(reader.getRoot<wire::Envelope>().getEncoded().getPayload32().size() == 0);
    }
  }
  CHECK(pool->idle() == 1);
}

TEST_CASE("a message that outgrows its pooled segment gets more segments and stays readable") {
  const auto pool = segment_pool::create(2);
  auto m = pool->builder(8);
  fill(*m, 500, 1.0);
  CHECK(m->getSegmentsForOutput().size() > 1);
  const auto words = capnp::messageToFlatArray(*m);
  capnp::FlatArrayMessageReader reader(words);
  const auto payload = reader.getRoot<wire::Envelope>().getEncoded().getPayload();
  REQUIRE(payload.size() == 500);
  CHECK(payload[499] == 500.0);
  m.reset();
  // The small first buffer went back; a bigger request replaces it with a zeroed one.
  auto big = pool->builder(list_message_words(2000, sizeof(double)));
  fill(*big, 2000, 0.0);
  CHECK(big->getSegmentsForOutput().size() == 1);
}
