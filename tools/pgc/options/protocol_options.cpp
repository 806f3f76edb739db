#include "options/protocol_options.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/coding/assignment.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {

namespace {

// Flags that change neither the scheme nor the data nor the optimizer: a checkpoint written
// under one value resumes under another (a resumed run may go on longer, with another timing).
constexpr std::array<std::string_view, 6> k_run_only_flags{"--iterations",       "--heartbeat-ms",
                                                           "--on-shortfall",     "--wire-precision",
                                                           "--no-shared-memory", "--deadline"};

bool is_flag(const std::string& word) {
  return word.starts_with("--");
}

}  // namespace

void protocol_options::add_to(CLI::App& app) {
  app.add_option("--workers", workers, "Number of workers N")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--load", load, "Chunks per worker (delta), 1..N")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--ell", ell, "Communication factor ell, 1..load")
      ->check(at_least(1))
      ->capture_default_str();
  add_enum_option(app, "--scheme", scheme, coding::scheme_kind_names(), "Gradient code");
  add_enum_option(app, "--mode", mode, nodes::signal_mode_names(),
                  "When the PS asks for coded vectors: as soon as it can decode exactly, or at "
                  "--deadline");
  app.add_option("--deadline", deadline,
                 "Approximate mode: seconds after the start of an iteration (> 0)")
      ->check(at_least(0));
  app.add_option("--iterations", iterations, "Training iterations")
      ->check(at_least(0))
      ->capture_default_str();
  add_enum_option(app, "--kind", kind, assignment_kind_names(),
                  "Assignment of the proposed scheme");
  add_enum_option(app, "--order", order, coding::order_kind_names(), "Chunk order");
  app.add_option("--seed", seed, "Seed of the assignment, the order and R")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval (at least 10)")
      ->check(at_least(10))
      ->capture_default_str();
  add_enum_option(app, "--on-shortfall", on_shortfall, nodes::shortfall_policy_names(),
                  "When the workers left cannot make an exact step: wait (for workers to join), "
                  "approx (decode approximately), stop (exit with an error)");
  add_enum_option(app, "--wire-precision", wire_precision, nodes::wire_precision_names(),
                  "How workers send their coded vectors: f64 exact, f32 half the bytes (~1e-7 "
                  "relative error; the PS decodes in double)");
  app.add_flag("--no-shared-memory", no_shared_memory,
               "Workers on the PS's host send their coded vectors over the socket like the "
               "others, instead of building them in memory shared with the PS");
}

std::vector<std::string> protocol_options::arguments() const {
  const auto name = [](auto table, auto value) { return std::string(core::name_of(table, value)); };
  std::vector<std::string> a{"--workers",      std::to_string(workers),
                             "--load",         std::to_string(load),
                             "--ell",          std::to_string(ell),
                             "--scheme",       name(coding::scheme_kind_names(), scheme),
                             "--mode",         name(nodes::signal_mode_names(), mode),
                             "--iterations",   std::to_string(iterations),
                             "--kind",         name(assignment_kind_names(), kind),
                             "--order",        name(coding::order_kind_names(), order),
                             "--seed",         std::to_string(seed),
                             "--heartbeat-ms", std::to_string(heartbeat_ms),
                             "--on-shortfall", name(nodes::shortfall_policy_names(), on_shortfall)};
  if (no_shared_memory) a.push_back("--no-shared-memory");
  if (wire_precision != nodes::wire_precision::f64) {
    a.push_back("--wire-precision");
    a.push_back(name(nodes::wire_precision_names(), wire_precision));
  }
  if (deadline > 0) {
    a.push_back("--deadline");
    a.push_back(exact_text(deadline));
  }
  return a;
}

std::vector<std::string> protocol_options::fingerprint_arguments() const {
  std::vector<std::string> out;
  bool skipping = false;
  for (const auto& word : arguments()) {
    if (is_flag(word)) {
      skipping = std::find(k_run_only_flags.begin(), k_run_only_flags.end(), word) !=
                 k_run_only_flags.end();
    }
    if (!skipping) out.push_back(word);
  }
  return out;
}

void protocol_options::validate() const {
  using core::input_error;
  // The single-flag bounds are checked while parsing; these are the ones between flags (and a
  // guard for values set by code, e.g. pgc rank's --workers from the job size).
  if (workers < 1) throw input_error("--workers must be at least 1");
  if (load < 1 || load > workers) {
    throw input_error("--load must be between 1 and --workers (" + std::to_string(workers) + ")");
  }
  if (ell < 1 || ell > load) throw input_error("--ell must be between 1 and --load");
  if (mode == nodes::signal_mode::approximate && !(deadline > 0))
    throw input_error("--mode approx needs --deadline SECONDS > 0");
  if (deadline < 0) throw input_error("--deadline must not be negative");
  if (heartbeat_ms < 10) throw input_error("--heartbeat-ms must be at least 10");
  // The scheme's own rules (e.g. frc needs ell = 1) throw from its constructor.
  (void)nodes::make_scheme(spec());
}

nodes::scheme_spec protocol_options::spec() const {
  nodes::scheme_spec s;
  s.kind = scheme;
  s.workers = workers;
  s.load = load;
  s.ell = ell;
  s.seed = seed;
  if (s.kind == coding::scheme_kind::proposed) {
    const coding::assignment base = kind == assignment_kind::regular
                                        ? coding::random_regular(workers, load, seed)
                                        : coding::cyclic(workers, load);
    s.lists = coding::apply_order(base, order, ell, seed).tasks.lists();
    s.chunks = workers;
  }
  return s;
}

nodes::protocol_config protocol_options::config(int dimension) const {
  nodes::protocol_config c;
  c.scheme = spec();
  c.mode = mode;
  c.deadline = std::chrono::milliseconds(static_cast<long>(deadline * 1000));
  c.dimension = dimension;
  c.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  c.precision = wire_precision;
  return c;
}

}  // namespace pgc::tools
