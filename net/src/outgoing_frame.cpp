#include "pgc/net/outgoing_frame.hpp"

#include <cassert>
#include <cstring>

#include "pgc/net/frame_header.hpp"

namespace pgc::net {
namespace {

void store_le32(std::byte* p, std::uint32_t value) noexcept {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<std::byte>(value >> (8 * i));
}

}  // namespace

outgoing_frame::outgoing_frame(std::unique_ptr<capnp::MessageBuilder> message)
    : message_(std::move(message)), segments_(message_->getSegmentsForOutput()) {
  // A builder always has a first segment; sizes fit 32 bits because capnp caps segments there.
  assert(segments_.size() > 0);
  const auto count = static_cast<std::uint32_t>(segments_.size());
  table_.resize(frame_header::table_bytes(count));  // zero padding included
  store_le32(table_.data(), count - 1);
  size_bytes_ = table_.size();
  for (std::uint32_t i = 0; i < count; ++i) {
    store_le32(table_.data() + 4 * (std::size_t{i} + 1),
               static_cast<std::uint32_t>(segments_[i].size()));
    size_bytes_ += segments_[i].size() * sizeof(capnp::word);
  }
}

std::vector<std::byte> outgoing_frame::to_bytes() const {
  std::vector<std::byte> bytes(size_bytes_);
  std::memcpy(bytes.data(), table_.data(), table_.size());
  std::size_t at = table_.size();
  for (const auto& segment : segments_) {
    const auto raw = segment.asBytes();
    std::memcpy(bytes.data() + at, raw.begin(), raw.size());
    at += raw.size();
  }
  return bytes;
}

}  // namespace pgc::net
