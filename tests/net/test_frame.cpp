#include <array>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include <capnp/serialize.h>
#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/net/envelope.hpp"
#include "pgc/net/frame.hpp"
#include "pgc/net/frame_header.hpp"
#include "pgc/net/outgoing_frame.hpp"
#include "wire_samples.hpp"

namespace {

using pgc::core::errc;
using pgc::net::frame;
using pgc::net::frame_header;
using pgc::net::frame_limits;
using pgc::net::outgoing_frame;

std::array<std::byte, 4> le32(std::uint32_t v) {
  return {std::byte(v), std::byte(v >> 8), std::byte(v >> 16), std::byte(v >> 24)};
}

void put_le32(std::span<std::byte> at, std::uint32_t v) {
  const auto b = le32(v);
  std::memcpy(at.data(), b.data(), 4);
}

std::error_code parse_error(std::span<const std::byte> bytes, const frame_limits& limits = {}) {
  try {
    frame::parse(bytes, limits);
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

}  // namespace

TEST_CASE("the segment table of an outgoing frame matches Cap'n Proto's own serialization") {
  // A big list forces a second segment, so the table has padding to check too.
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto encoded = message->initRoot<pgc::net::wire::Envelope>().initEncoded();
  encoded.setIteration(9);
  encoded.initPayload(5000);
  const auto expected = capnp::messageToFlatArray(*message);
  REQUIRE(message->getSegmentsForOutput().size() >= 2);
  const outgoing_frame out(std::move(message));
  const auto bytes = out.to_bytes();
  REQUIRE(bytes.size() == expected.asBytes().size());
  CHECK(out.size_bytes() == bytes.size());
  CHECK(std::memcmp(bytes.data(), expected.asBytes().begin(), bytes.size()) == 0);
}

TEST_CASE("a frame parsed from bytes gives back every message kind") {
  for (const auto kind : pgc::net::test::all_kinds) {
    const auto bytes = outgoing_frame(pgc::net::test::make_message(kind)).to_bytes();
    frame f = frame::parse(bytes);
    CHECK(f.size_bytes() == bytes.size());
    const frame moved = std::move(f);  // the reader's pointers survive a move
    CHECK(pgc::net::envelope_problem(moved.envelope()).empty());
    pgc::net::test::check_message(kind, moved.envelope());
  }
}

TEST_CASE("a segment count above the limit is a bad message") {
  frame_header header(frame_limits{.max_segments = 4});
  CHECK(!header.parse_prefix(le32(3)));
  CHECK(header.segment_count() == 4);
  CHECK(header.rest_buffer().size() == frame_header::table_bytes(4) - 4);
  CHECK(header.parse_prefix(le32(4)) == errc::bad_message);
  CHECK(header.parse_prefix(le32(0xffffffff)) == errc::bad_message);  // count - 1 + 1 wraps
}

TEST_CASE("segment sizes over the frame limit are refused without overflow") {
  const frame_limits limits{.max_frame_bytes = 1 << 20, .max_segments = 512};
  frame_header header(limits);
  // 512 segments of 2^32 - 1 words: the byte total does not fit 64 bits.
  REQUIRE(!header.parse_prefix(le32(511)));
  for (std::size_t i = 0; i < 512; ++i)
    put_le32(header.rest_buffer().subspan(4 * i), 0xffffffff);
  CHECK(header.parse_rest() == errc::frame_too_large);
  // One word over the limit, table included.
  REQUIRE(!header.parse_prefix(le32(0)));
  const std::uint32_t fits = ((1 << 20) - 8) / 8;
  put_le32(header.rest_buffer(), fits + 1);
  CHECK(header.parse_rest() == errc::frame_too_large);
  REQUIRE(!header.parse_prefix(le32(0)));
  put_le32(header.rest_buffer(), fits);
  CHECK(!header.parse_rest());
  CHECK(header.frame_bytes() == limits.max_frame_bytes);
}

TEST_CASE("an empty first segment is a bad message") {
  frame_header header;
  REQUIRE(!header.parse_prefix(le32(0)));
  put_le32(header.rest_buffer(), 0);
  CHECK(header.parse_rest() == errc::bad_message);
}

TEST_CASE("truncated or padded frames are bad messages") {
  const auto bytes =
      outgoing_frame(pgc::net::test::make_message(pgc::net::test::wire_kind::WELCOME)).to_bytes();
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{3}, std::size_t{6}, bytes.size() - 8}) {
    CHECK(parse_error(std::span(bytes).first(size)) == errc::bad_message);
  }
  auto longer = bytes;
  longer.resize(bytes.size() + 8);
  CHECK(parse_error(longer) == errc::bad_message);
}

TEST_CASE("random bytes and corrupted frames never crash the decoder") {
  std::mt19937_64 rng(20240519);
  const auto valid =
      outgoing_frame(pgc::net::test::make_message(pgc::net::test::wire_kind::WELCOME)).to_bytes();
  int decoded = 0;
  int rejected = 0;
  for (int round = 0; round < 4000; ++round) {
    std::vector<std::byte> bytes;
    if (round % 2 == 0) {
      // Pure noise behind a plausible one-segment table, so the body decoder is exercised.
      const std::size_t words = 1 + rng() % 64;
      bytes.resize(8 + 8 * words);
      put_le32(bytes, 0);
      put_le32(std::span(bytes).subspan(4), static_cast<std::uint32_t>(words));
      for (std::size_t i = 8; i < bytes.size(); ++i)
        bytes[i] = std::byte(rng());
    } else {
      bytes = valid;
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        bytes[rng() % bytes.size()] = std::byte(rng());
      }
    }
    try {
      const frame f = frame::parse(bytes);
      // Either a problem is named or every pointer was in bounds; nothing else may happen.
      (void)pgc::net::frame_problem(f);
      ++decoded;
    } catch (const std::system_error& e) {
      CHECK((e.code() == errc::bad_message || e.code() == errc::frame_too_large));
      ++rejected;
    }
  }
  CHECK(decoded + rejected == 4000);
}
