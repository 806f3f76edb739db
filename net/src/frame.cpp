#include "pgc/net/frame.hpp"

#include <cstring>
#include <system_error>
#include <vector>

#include <capnp/message.h>

#include "pgc/core/error.hpp"

namespace pgc::net {

struct frame::state {
  state(const frame_header& header, std::unique_ptr<capnp::word[]> words)
      : body(std::move(words)),
        segments(make_segments(header, body.get())),
        size_bytes(header.frame_bytes()),
        reader(kj::arrayPtr(segments.data(), segments.size()), options(header)) {}
  state(std::span<const capnp::word> segment, std::shared_ptr<const void> keep,
        const frame_limits& limits)
      : owner(std::move(keep)),
        segments{kj::arrayPtr(segment.data(), segment.size())},
        size_bytes(8 + segment.size() * sizeof(capnp::word)),
        reader(kj::arrayPtr(segments.data(), segments.size()),
               options(limits, segment.size())) {}

  static std::vector<kj::ArrayPtr<const capnp::word>> make_segments(const frame_header& header,
                                                                    const capnp::word* at) {
    std::vector<kj::ArrayPtr<const capnp::word>> out;
    out.reserve(header.segment_count());
    for (const std::uint32_t words : header.segment_words()) {
      out.push_back(kj::arrayPtr(at, words));
      at += words;
    }
    return out;
  }

  static capnp::ReaderOptions options(const frame_header& header) {
    return options(header.limits(), header.body_words());
  }
  static capnp::ReaderOptions options(const frame_limits& limits, std::size_t body_words) {
    capnp::ReaderOptions o;
    // Proportional to the frame, so a big payload can be read and a small frame whose pointers
    // alias one list many times cannot make us traverse much more than it weighs. The constant
    // covers the struct headers of tiny messages.
    o.traversalLimitInWords =
        std::uint64_t{limits.traversal_factor} * (std::uint64_t{body_words} + 64);
    o.nestingLimit = limits.nesting_limit;
    return o;
  }

  std::unique_ptr<capnp::word[]> body;
  std::shared_ptr<const void> owner;
  std::vector<kj::ArrayPtr<const capnp::word>> segments;
  std::size_t size_bytes;
  capnp::SegmentArrayMessageReader reader;
};

frame::frame(const frame_header& header, std::unique_ptr<capnp::word[]> body)
    : state_(std::make_unique<state>(header, std::move(body))) {}
frame::frame(std::span<const capnp::word> segment, std::shared_ptr<const void> owner,
             const frame_limits& limits)
    : state_(std::make_unique<state>(segment, std::move(owner), limits)) {}
frame::frame(frame&&) noexcept = default;
frame& frame::operator=(frame&&) noexcept = default;
frame::~frame() = default;

frame frame::parse(std::span<const std::byte> bytes, const frame_limits& limits) {
  const auto fail = [](core::errc e, const char* what) {
    return std::system_error(make_error_code(e), what);
  };
  frame_header header(limits);
  if (bytes.size() < frame_header::prefix_bytes)
    throw fail(core::errc::bad_message, "truncated frame");
  if (auto ec = header.parse_prefix(bytes.first<frame_header::prefix_bytes>())) {
    throw std::system_error(ec, "segment table");
  }
  bytes = bytes.subspan(frame_header::prefix_bytes);
  const auto rest = header.rest_buffer();
  if (bytes.size() < rest.size()) throw fail(core::errc::bad_message, "truncated frame");
  std::memcpy(rest.data(), bytes.data(), rest.size());
  if (auto ec = header.parse_rest()) throw std::system_error(ec, "segment table");
  bytes = bytes.subspan(rest.size());
  if (bytes.size() != header.body_words() * sizeof(capnp::word)) {
    throw fail(core::errc::bad_message, "frame size does not match its segment table");
  }
  auto body = std::make_unique_for_overwrite<capnp::word[]>(header.body_words());
  std::memcpy(body.get(), bytes.data(), bytes.size());
  return frame(header, std::move(body));
}

wire::Envelope::Reader frame::envelope() const {
  return state_->reader.getRoot<wire::Envelope>();
}

std::size_t frame::size_bytes() const noexcept {
  return state_->size_bytes;
}

}  // namespace pgc::net
