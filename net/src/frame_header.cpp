#include "pgc/net/frame_header.hpp"

#include "pgc/core/error.hpp"

namespace pgc::net {
namespace {

// The wire is little-endian whatever the host is.
std::uint32_t load_le32(const std::byte* p) noexcept {
  return std::to_integer<std::uint32_t>(p[0]) | std::to_integer<std::uint32_t>(p[1]) << 8 |
         std::to_integer<std::uint32_t>(p[2]) << 16 | std::to_integer<std::uint32_t>(p[3]) << 24;
}

}  // namespace

frame_header::frame_header(frame_limits limits) : limits_(limits) {}

std::error_code frame_header::parse_prefix(std::span<const std::byte, prefix_bytes> prefix) {
  segment_count_ = 0;
  segment_words_.clear();
  body_words_ = 0;
  rest_.clear();
  const std::uint32_t count_minus_one = load_le32(prefix.data());
  // Compare before adding 1: 0xffffffff + 1 would wrap to 0.
  if (limits_.max_segments == 0 || count_minus_one >= limits_.max_segments) {
    return core::errc::bad_message;
  }
  segment_count_ = count_minus_one + 1;
  rest_.resize(table_bytes(segment_count_) - prefix_bytes);
  return {};
}

std::error_code frame_header::parse_rest() {
  if (segment_count_ == 0) return core::errc::bad_message;  // parse_prefix failed or not called
  segment_words_.resize(segment_count_);
  // The limit is checked in words as they are summed, so no sum or product can overflow
  // whatever the announced sizes are.
  const std::size_t table = table_bytes(segment_count_);
  if (table > limits_.max_frame_bytes) return core::errc::frame_too_large;
  const std::uint64_t max_words = (limits_.max_frame_bytes - table) / 8;
  std::uint64_t words = 0;
  for (std::uint32_t i = 0; i < segment_count_; ++i) {
    segment_words_[i] = load_le32(rest_.data() + 4 * std::size_t{i});
    words += segment_words_[i];
    if (words > max_words) return core::errc::frame_too_large;
  }
  if (segment_words_[0] == 0) return core::errc::bad_message;
  body_words_ = static_cast<std::size_t>(words);
  return {};
}

}  // namespace pgc::net
