#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "pgc/net/frame_header.hpp"
#include "pgc/net/schema/pgc.capnp.h"

namespace pgc::net {

// One received message: the word-aligned buffer it was read into and the Cap'n Proto reader
// over it, with explicit limits. The reader holds pointers into the buffer, so both live
// together on the heap and a frame can be moved freely.
class frame {
 public:
  // `body` holds header.body_words() words read from the wire after the table.
  frame(const frame_header& header, std::unique_ptr<capnp::word[]> body);
  // A one-segment message that lies elsewhere (a slot of shared memory): `owner` keeps it there
  // and is released with the frame.
  frame(std::span<const capnp::word> segment, std::shared_ptr<const void> owner,
        const frame_limits& limits);
  frame(frame&&) noexcept;
  frame& operator=(frame&&) noexcept;
  ~frame();

  // A complete frame from contiguous bytes (table and body), checked against the limits:
  // std::system_error with errc::frame_too_large or errc::bad_message. Does not validate the
  // envelope (see envelope_problem).
  static frame parse(std::span<const std::byte> bytes, const frame_limits& limits = {});

  // The root. Accessors throw kj::Exception on a malformed message; envelope_problem() has
  // already walked every pointer of a frame the channel returns.
  wire::Envelope::Reader envelope() const;
  // On the wire, table included.
  std::size_t size_bytes() const noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace pgc::net
