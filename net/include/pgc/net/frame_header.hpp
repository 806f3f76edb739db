#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "pgc/net/frame_limits.hpp"

namespace pgc::net {

// Decoder of the segment table that starts every Cap'n Proto frame (uint32 little-endian:
// segment count - 1, then each segment's size in words, padded to 8 bytes). It takes the two
// reads the wire needs, the 4-byte prefix and then the rest of the table, and refuses a frame
// whose size exceeds the limits before its body is allocated. Pure: no I/O, testable alone.
class frame_header {
 public:
  static constexpr std::size_t prefix_bytes = 4;

  explicit frame_header(frame_limits limits = {});

  // Starts a new frame. errc::bad_message when more segments than limits.max_segments.
  std::error_code parse_prefix(std::span<const std::byte, prefix_bytes> prefix);

  // Where the rest of the table goes: after a successful parse_prefix, 4 * segment_count()
  // bytes rounded so that the whole table is a multiple of 8.
  std::span<std::byte> rest_buffer() noexcept { return rest_; }

  // Reads the segment sizes from rest_buffer(). errc::frame_too_large when the frame exceeds
  // limits.max_frame_bytes, errc::bad_message for an empty first segment (no root pointer).
  std::error_code parse_rest();

  std::uint32_t segment_count() const noexcept { return segment_count_; }
  std::span<const std::uint32_t> segment_words() const noexcept { return segment_words_; }
  std::size_t body_words() const noexcept { return body_words_; }
  // Table plus body: what the frame costs on the wire.
  std::size_t frame_bytes() const noexcept { return table_bytes(segment_count_) + body_words_ * 8; }
  const frame_limits& limits() const noexcept { return limits_; }

  // Bytes of the segment table of a frame with this many segments (at least 1).
  static constexpr std::size_t table_bytes(std::uint32_t segment_count) noexcept {
    return 8 * (std::size_t{segment_count} / 2 + 1);
  }

 private:
  frame_limits limits_;
  std::uint32_t segment_count_ = 0;
  std::vector<std::byte> rest_;
  std::vector<std::uint32_t> segment_words_;
  std::size_t body_words_ = 0;
};

}  // namespace pgc::net
