#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace pgc::core {

// Error codes shared by every module. Values are stable: they travel in Error messages.
enum class errc {
  invalid_input = 1,   // a caller, a file or a peer gave us something malformed
  frame_too_large,     // a frame header announced more bytes than the limit
  bad_message,         // a frame that does not decode as an Envelope
  stale_iteration,     // a message for an iteration or epoch that has passed
  unknown_peer,        // a message from a worker that is not registered
  duplicate_peer,      // a second registration under a name already connected
  unauthenticated,     // a peer that failed the handshake
  timeout,             // a bounded wait ran out
  protocol_violation,  // a message that is well-formed but not allowed now
  mismatched_peer,     // a peer with another workload or configuration: retrying cannot help
  no_free_slot,        // every worker slot is held by a connected worker: may heal, retry later
};

const std::error_category& category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

// Thrown for bad input: a message for a human that names the problem. Never used for bugs.
class input_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace pgc::core

template <>
struct std::is_error_code_enum<pgc::core::errc> : std::true_type {};
