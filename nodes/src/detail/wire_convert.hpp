#pragma once

// Wire <-> machine conversions for the node shells: builders of every outgoing Envelope and the
// readers of the incoming ones that carry more than a few integers. Private to nodes/.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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
#include "pgc/net/segment_pool.hpp"
#include "pgc/net/shared_memory.hpp"
#include "pgc/core/workload_fingerprint.hpp"
#include "pgc/nodes/admission.hpp"
#include "pgc/nodes/protocol_config.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/scheme_spec.hpp"

namespace pgc::nodes::detail {

using message_ptr = std::unique_ptr<capnp::MessageBuilder>;

net::wire::Scheme to_wire(coding::scheme_kind kind) noexcept;
net::wire::Mode to_wire(signal_mode mode) noexcept;
signal_mode from_wire(net::wire::Mode mode) noexcept;
net::wire::Precision to_wire(wire_precision precision) noexcept;
wire_precision from_wire(net::wire::Precision precision) noexcept;

// Where a worker hands over its shared-memory region: the PS's socket and this connection's
// token (Welcome.sharedMemory).
struct shm_offer {
  std::string socket;
  net::shm_listener::token token{};
};

// The authentication fields of a Hello (net/auth.hpp), when the worker has a secret.
struct hello_auth {
  net::nonce nonce;
  net::mac mac;
};
message_ptr make_hello(std::string_view name, const hello_auth* auth = nullptr,
                       int preferred_id = -1, const core::workload_fingerprint& workload = {});
// What admission needs of a Hello that arrived on a connection that got `challenge`.
admission::hello read_hello(net::wire::Hello::Reader h, const net::nonce& challenge);
message_ptr make_challenge(const net::nonce& nonce);
// Everything a worker needs to encode on its own: the protocol as the PS runs it, the scheme's
// lists (and R when it has one), this worker's id; with a secret the PS's proof, on the PS's host
// the shared-memory offer.
message_ptr make_welcome(const protocol_config& protocol, const coding::scheme& code, int worker,
                         const net::mac* mac = nullptr, const shm_offer* shm = nullptr);
// With a pool, the model is written into a reused first segment: a PS broadcasts a d-sized
// StartIteration every iteration, and a fresh one each time makes the allocator keep more.
message_ptr make_start_iteration(std::uint64_t iteration, const Eigen::VectorXd& model,
                                 net::segment_pool* pool = nullptr);
message_ptr make_progress(std::uint64_t iteration, int chunks_done);
message_ptr make_encode_and_transmit(std::uint64_t iteration, std::uint32_t epoch,
                                     const coding::state_vector& state);
message_ptr make_encoded(std::uint64_t iteration, std::uint32_t epoch, const Eigen::VectorXd& y,
                         wire_precision precision = wire_precision::f64);
// Writes coordinates [offset, offset + out.size()) of a coded vector into out.
using coded_filler = std::function<void(int offset, std::span<double> out)>;
// An Encoded message of `block` entries built in place: with f64 `fill` writes straight into the
// message's list; with f32 it fills a small double tile at a time, rounded into the list. The
// first segment comes from a free slot of `shared` when there is one (the same-host data plane),
// else from `pool` (reused across iterations). Call on any thread.
message_ptr build_encoded(net::segment_pool& pool, net::shm_region* shared, std::uint64_t iteration,
                          std::uint32_t epoch, wire_precision precision, int block,
                          const coded_filler& fill);
message_ptr make_heartbeat();
message_ptr make_shutdown(std::string_view reason);
message_ptr make_error(core::errc code, std::string_view text);

// What a worker learns from a (validated) Welcome.
struct welcome_info {
  int worker = -1;
  int dimension = 0;
  scheme_spec spec;
  // The PS's heartbeat; 0 (an older PS) means the worker's own settings stand.
  std::chrono::milliseconds heartbeat{0};
  int heartbeat_misses = 0;
  wire_precision precision = wire_precision::f64;
  std::optional<shm_offer> shared_memory;
};
// Throws core::input_error when the scheme cannot be built from the fields.
welcome_info read_welcome(net::wire::Welcome::Reader w);

std::vector<double> read_doubles(capnp::List<double>::Reader list);
// The coded vector of an Encoded message in double: payload32 widened when it is set (a float32
// worker), else payload.
std::vector<double> read_payload(net::wire::Encoded::Reader encoded);
// A view of the Encoded payload inside the frame `owner` keeps alive (the PS holds the frame
// instead of a copy), floats read as they are; a copy in double when the list is not stored
// plainly (another element encoding) or there is no owner.
ps_machine::coded_view payload_view(net::wire::Encoded::Reader encoded,
                                    std::shared_ptr<const void> owner);
// Float32 wire rounding: out[k] = nearest float to in[k] (sizes equal).
void round_to_float(std::span<const double> in, std::span<float> out) noexcept;
coding::state_vector read_state(capnp::List<std::uint32_t>::Reader list);

}  // namespace pgc::nodes::detail
