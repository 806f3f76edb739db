#pragma once

// The protocol flags of pgc ps, launch and rank: what the PS runs and launch and rank forward to
// it. Declared once here, written back as arguments by arguments(), checked by validate().

#include <cstdint>
#include <string>
#include <vector>

#include "options/assignment_kind.hpp"
#include "pgc/coding/baselines.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/nodes/protocol_config.hpp"
#include "pgc/nodes/scheme_spec.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct protocol_options {
  int workers = 8;
  int load = 3;
  int ell = 1;
  coding::scheme_kind scheme = coding::scheme_kind::proposed;
  nodes::signal_mode mode = nodes::signal_mode::exact;
  double deadline = 0;  // seconds, approximate mode
  std::uint64_t iterations = 20;
  assignment_kind kind = assignment_kind::cyclic;  // the proposed scheme's assignment
  coding::order_kind order = coding::order_kind::optimal;
  std::uint64_t seed = 1;  // assignment, order and R
  int heartbeat_ms = 200;
  nodes::shortfall_policy on_shortfall = nodes::shortfall_policy::wait;
  nodes::wire_precision wire_precision = nodes::wire_precision::f64;
  bool no_shared_memory = false;  // workers on the PS's host send bytes over the socket too

  void add_to(CLI::App& app);
  // The flags that reproduce these values, in a fixed order, defaults included (every node of a
  // cluster gets the same protocol even if their defaults differed).
  std::vector<std::string> arguments() const;
  // Throws core::input_error naming the flag for a combination the scheme cannot run (--load
  // beyond --workers, --ell beyond --load, approx without --deadline, frc with ell > 1, ...).
  void validate() const;
  // The scheme every worker rebuilds; throws as validate().
  nodes::scheme_spec spec() const;
  // The protocol as the PS hands it on, for a model of `dimension` parameters.
  nodes::protocol_config config(int dimension) const;
  // What of arguments() changes the numbers a run computes: everything but the flags in
  // k_run_only_flags (how long it runs, timing, transport).
  std::vector<std::string> fingerprint_arguments() const;
};

}  // namespace pgc::tools
