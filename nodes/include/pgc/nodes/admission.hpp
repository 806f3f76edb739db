#pragma once

// Who may join the parameter server, and under which worker id (STYLE.md: "a decision with rules
// is a pure type with tests"). The shell turns a Hello and the connection's credentials into a
// hello value, asks admit(), and carries out the verdict: Welcome for accept, Error + close for
// refuse. Pure and deterministic; one thread.

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "pgc/core/error.hpp"
#include "pgc/core/workload_fingerprint.hpp"
#include "pgc/net/auth.hpp"

namespace pgc::nodes {

class admission {
 public:
  struct hello {
    std::uint32_t protocol_version = 0;
    std::string name;
    int preferred_id = -1;  // -1: any
    core::workload_fingerprint workload;
    // With a secret: the Challenge this connection got, and the Hello's nonce and mac as sent
    // (empty when the worker sent none).
    net::nonce challenge{};
    std::vector<std::uint8_t> nonce;
    std::vector<std::uint8_t> mac;
  };
  struct accept {
    int worker;
    // Non-empty: the slot belonged to this name, whose worker is gone; it is this name's now.
    std::string replaced;
  };
  struct refuse {
    core::errc code;
    std::string text;
    // A refusal that may heal by itself (the name's old connection is still open, every slot is
    // held): the worker backs off and retries. Any other refusal ends the worker.
    bool retry;
  };
  using verdict = std::variant<accept, refuse>;

  // `secret` empty: no authentication. `fingerprint` empty: workloads are not compared.
  admission(int workers, std::uint32_t protocol_version, std::string secret,
            core::workload_fingerprint fingerprint);

  // In this order: the protocol version, a name, the secret, the workload, then a slot: the
  // name's own slot (refused while its connection is open), else the preferred id if never used,
  // else the first never-used id, else the first slot whose worker is gone (the name of a
  // worker that left keeps its slot only while no newcomer needs it). Accepting marks the slot
  // connected.
  verdict admit(const hello& h);
  // The worker's connection ended (idempotent). Its name keeps the slot until a newcomer needs it.
  void left(int worker);

  int workers() const noexcept { return static_cast<int>(slots_.size()); }
  bool connected(int worker) const;
  // The name holding the slot; empty when it was never used.
  const std::string& name(int worker) const;

 private:
  struct slot {
    std::string name;  // empty: never used
    bool connected = false;
  };
  accept take(int worker, const std::string& name);

  std::vector<slot> slots_;
  std::uint32_t version_;
  std::string secret_;
  core::workload_fingerprint fingerprint_;
};

}  // namespace pgc::nodes
