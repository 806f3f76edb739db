#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include <capnp/message.h>

namespace pgc::net {

// A message ready for the wire: the builder (kept alive, its segments are sent in place) and
// the segment table that precedes them. Building one copies nothing but the table.
class outgoing_frame {
 public:
  // The message must not be modified afterwards: the segment list is taken now.
  explicit outgoing_frame(std::unique_ptr<capnp::MessageBuilder> message);

  std::span<const std::byte> table() const noexcept { return table_; }
  kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments() const noexcept {
    return segments_;
  }
  // Table plus segments.
  std::size_t size_bytes() const noexcept { return size_bytes_; }

  // The whole frame in one buffer: for tests and for tools that store frames.
  std::vector<std::byte> to_bytes() const;

 private:
  std::unique_ptr<capnp::MessageBuilder> message_;
  kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments_;
  std::vector<std::byte> table_;
  std::size_t size_bytes_ = 0;
};

}  // namespace pgc::net
