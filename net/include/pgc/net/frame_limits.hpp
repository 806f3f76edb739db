#pragma once

#include <cstddef>
#include <cstdint>

namespace pgc::net {

// Bounds on what a peer may make us allocate or traverse. Both ends of a connection should
// agree on max_frame_bytes: a model or payload of d doubles needs about 8 d bytes.
struct frame_limits {
  // Largest frame accepted, segment table included; checked before anything is allocated.
  std::size_t max_frame_bytes = std::size_t{128} << 20;
  // Cap'n Proto messages we build have a handful of segments; a peer announcing thousands
  // is broken or hostile, and the table itself would cost memory.
  std::uint32_t max_segments = 512;
  // Cap'n Proto traversal limit in units of the frame's size: every get() of a list counts its
  // words again, so validation plus one read by the consumer needs 2; more leaves slack.
  std::uint32_t traversal_factor = 4;
  // Our schema nests at most four deep (Envelope, Welcome, assignment, list).
  int nesting_limit = 16;
};

}  // namespace pgc::net
