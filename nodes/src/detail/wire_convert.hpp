#pragma once

// Wire <-> machine conversions for the node shells: builders of every outgoing Envelope and the
// readers of the incoming ones that carry more than a few integers. Private to nodes/.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <capnp/message.h>

#include "pgc/coding/baselines.hpp"
#include "pgc/coding/progress_tracker.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/schema/pgc.capnp.h"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/scheme_spec.hpp"

namespace pgc::nodes::detail {

using message_ptr = std::unique_ptr<capnp::MessageBuilder>;

net::wire::Scheme to_wire(coding::scheme_kind kind) noexcept;
coding::scheme_kind from_wire(net::wire::Scheme scheme) noexcept;
net::wire::Mode to_wire(signal_mode mode) noexcept;
signal_mode from_wire(net::wire::Mode mode) noexcept;

// What the PS puts in every Welcome besides the worker id.
struct welcome_fields {
  scheme_spec spec;                      // kind, N, load, ell, seed
  const coding::scheme* code = nullptr;  // lists, m and (proposed) R
  signal_mode mode = signal_mode::exact;
  int dimension = 0;
  std::uint32_t heartbeat_ms = 0;
  std::uint32_t deadline_ms = 0;
};

// The authentication fields of a Hello (net/auth.hpp), when the worker has a secret.
struct hello_auth {
  net::nonce nonce;
  net::mac mac;
};
message_ptr make_hello(std::string_view name, const hello_auth* auth = nullptr,
                       int preferred_id = -1);
message_ptr make_challenge(const net::nonce& nonce);
message_ptr make_welcome(const welcome_fields& fields, int worker, const net::mac* mac = nullptr);
message_ptr make_start_iteration(std::uint64_t iteration, const Eigen::VectorXd& model);
message_ptr make_progress(std::uint64_t iteration, int chunks_done);
message_ptr make_encode_and_transmit(std::uint64_t iteration, std::uint32_t epoch,
                                     const coding::state_vector& state);
message_ptr make_encoded(std::uint64_t iteration, std::uint32_t epoch, const Eigen::VectorXd& y);
message_ptr make_heartbeat();
message_ptr make_shutdown(std::string_view reason);
message_ptr make_error(core::errc code, std::string_view text);

// What a worker learns from a (validated) Welcome.
struct welcome_info {
  int worker = -1;
  int dimension = 0;
  scheme_spec spec;
  std::uint32_t heartbeat_ms = 0;
};
// Throws core::input_error when the scheme cannot be built from the fields.
welcome_info read_welcome(net::wire::Welcome::Reader w);

std::vector<double> read_doubles(capnp::List<double>::Reader list);
coding::state_vector read_state(capnp::List<std::uint32_t>::Reader list);

}  // namespace pgc::nodes::detail
