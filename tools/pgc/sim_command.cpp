// pgc sim: replay a delay trace, or run one of the paper's experiments (tables, CSV, JSON, SVG).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "assignment_options.hpp"
#include "commands.hpp"
#include "options/option_helpers.hpp"
#include "pgc/coding/assignment.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/core/error.hpp"
#include "pgc/sim/completion_calculator.hpp"
#include "pgc/sim/experiment.hpp"
#include "pgc/sim/report.hpp"
#include "pgc/sim/straggler_model.hpp"
#include "pgc/sim/trace.hpp"

namespace pgc::tools {
namespace {

using core::input_error;

struct sim_options {
  std::string trace;
  std::string experiment;
  assignment_options assignment;  // as in pgc assign
  std::vector<int> ells;
  bool json = false;
  // Experiments.
  int trials = 0;
  std::string out;
  bool no_plots = false;
  bool progress = false;
  std::vector<double> deadlines;
  std::string delay = "shifted-exp";
  sim::straggler_model model = sim::experiment_config::default_model();
};

// Worker lines of a trace (non-blank after stripping comments), to default --workers.
int count_trace_lines(const std::string& text) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t\r\v\f") != std::string::npos) ++n;
  }
  return n;
}

boost::json::value time_or_null(double t) {
  if (std::isfinite(t)) return t;
  return nullptr;
}

std::string time_text(double t) {
  if (!std::isfinite(t)) return "never";
  std::ostringstream out;
  out << t;
  return out.str();
}

int run_trace(const sim_options& o) {
  if (o.ells.size() > 1) throw input_error("--trace takes a single --ell");
  const int ell = o.ells.empty() ? 1 : o.ells.front();
  const std::string text = read_text_file(o.trace, "trace");
  const int workers = o.assignment.workers != 0 || o.assignment.kind == "file"
                          ? o.assignment.workers
                          : count_trace_lines(text);
  const coding::assignment base = o.assignment.build(workers);
  base.check_ell(ell);
  const auto kind = o.assignment.order;
  const coding::ordered result = coding::apply_order(base, kind, ell, o.assignment.seed);
  const coding::assignment& a = result.tasks;
  const sim::chunk_times times = sim::parse_trace(text, a);

  sim::completion_calculator calc(a, ell);
  const double proposed = calc.proposed(times);
  // The original code lives on the cyclic assignment with m = N and equal loads; only then
  // does "N - s whole lists, s = load - ell" mean something.
  bool uniform = a.chunks() == a.workers();
  for (int w = 0; w < a.workers(); ++w)
    uniform = uniform && a.load(w) == a.load(0);
  const int stragglers = uniform ? a.load(0) - ell : -1;
  const double original = uniform ? calc.original(times, stragglers) : sim::k_never;
  const double ignore = uniform ? calc.ignore_stragglers(times, stragglers) : sim::k_never;
  const double uncoded = calc.uncoded(times);

  if (o.json) {
    boost::json::object out;
    out["workers"] = a.workers();
    out["chunks"] = a.chunks();
    out["ell"] = ell;
    out["kind"] = o.assignment.kind;
    out["order"] = coding::to_string(kind);
    out["proposed"] = time_or_null(proposed);
    out["original"] = time_or_null(original);
    out["ignore_stragglers"] = time_or_null(ignore);
    out["uncoded"] = time_or_null(uncoded);
    if (uniform) {
      out["stragglers"] = stragglers;
    } else {
      out["stragglers"] = nullptr;
      out["note"] = "original and ignore_stragglers need m = N and equal loads";
    }
    std::cout << boost::json::serialize(out) << '\n';
    return 0;
  }
  std::cout << "trace " << o.trace << ": " << a.workers() << " workers, " << a.chunks()
            << " chunks, ell = " << ell << ", order " << coding::to_string(kind) << '\n'
            << "proposed (every chunk has ell copies): " << time_text(proposed) << '\n';
  if (uniform) {
    std::cout << "original (N - s = " << a.workers() - stragglers
              << " whole lists): " << time_text(original) << '\n'
              << "ignore stragglers (N - s single chunks): " << time_text(ignore) << '\n';
  } else {
    std::cout << "original: not defined (needs m = N and equal loads)\n";
  }
  std::cout << "uncoded (every single chunk): " << time_text(uncoded) << '\n';
  return 0;
}

// "\rpgc sim: NAME 42% (420/1000)" on stderr, redrawn only when the percentage changes.
class progress_line {
 public:
  explicit progress_line(std::string name) : name_(std::move(name)) {}
  void operator()(long long done, long long total) {
    const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
    if (percent == last_) return;
    last_ = percent;
    std::cerr << "\rpgc sim: " << name_ << ' ' << percent << "% (" << done << '/' << total << ')'
              << std::flush;
  }
  void finish(double seconds) const {
    if (last_ >= 0) std::cerr << " done in " << seconds << " s\n";
  }

 private:
  std::string name_;
  int last_ = -1;
};

int run_experiment(const sim_options& o) {
  if (!o.trace.empty()) throw input_error("--trace and --experiment do not go together");
  sim::experiment_config config;
  config.workers = o.assignment.workers;
  config.load = o.assignment.load;
  config.ells = o.ells;
  config.trials = o.trials;
  config.seed = o.assignment.seed;
  config.model = o.model;
  config.model.distribution = sim::parse_delay_distribution(o.delay);
  config.deadlines = o.deadlines;
  auto line = std::make_shared<progress_line>(o.experiment);
  if (o.progress || ::isatty(STDERR_FILENO) == 1) {
    config.progress = [line](long long done, long long total) { (*line)(done, total); };
  }
  const auto start = std::chrono::steady_clock::now();
  const sim::experiment_result r = sim::run_experiment(o.experiment, config);
  line->finish(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  if (o.json) {
    std::cout << boost::json::serialize(sim::to_json(r)) << '\n';
  } else {
    std::cout << "experiment " << r.name << ":";
    for (const auto& [k, v] : r.parameters)
      std::cout << ' ' << k << '=' << v << ';';
    std::cout << '\n' << r.text;
  }
  if (!o.out.empty()) {
    const auto files = sim::write_report(r, o.out, !o.no_plots);
    if (!o.no_plots && !files.gnuplot_found) {
      std::cerr << "pgc sim: gnuplot not found (apt-get install gnuplot-nox): wrote CSV, JSON and "
                   ".gp scripts but no SVG\n";
    }
    for (const auto& p : files.problems)
      std::cerr << "pgc sim: " << p << '\n';
    if (!o.json) std::cout << "wrote " << files.written.size() << " files to " << o.out << '\n';
    if (!files.problems.empty()) return 1;
  }
  return 0;
}

int run(const sim_options& o) {
  if (!o.experiment.empty()) return run_experiment(o);
  if (!o.trace.empty()) return run_trace(o);
  std::string names;
  for (auto n : sim::experiment_names())
    names += (names.empty() ? "" : ", ") + std::string(n);
  throw input_error("give --trace FILE or --experiment NAME (" + names + ")");
}

}  // namespace

command add_sim_command(CLI::App& app) {
  auto opts = std::make_shared<sim_options>();
  auto* sub = app.add_subcommand(
      "sim",
      "Simulate the proposed protocol against the baselines: replay a trace or run an experiment");
  sub->add_option("--trace", opts->trace,
                  "Delay trace: one line per worker, seconds per chunk in list order, inf = fails");
  sub->add_option("--experiment", opts->experiment,
                  "time-vs-ell | error-vs-deadline | ordering | polynomial");
  opts->assignment.add_to(*sub);
  sub->add_option("--ell", opts->ells,
                  "Communication factor ell (experiments: a list, default per experiment)")
      ->delimiter(',');
  sub->add_flag("--json", opts->json, "Print one JSON object");
  sub->add_option("--trials", opts->trials, "Monte-Carlo trials (default per experiment)")
      ->check(at_least(0));
  sub->add_option("--out", opts->out, "Directory for CSV, JSON, gnuplot scripts and SVG plots");
  sub->add_flag("--no-plots", opts->no_plots, "With --out: do not run gnuplot");
  sub->add_flag("--progress", opts->progress, "Progress line on stderr even when not a terminal");
  sub->add_option("--deadlines", opts->deadlines, "error-vs-deadline: deadlines T (comma list)")
      ->delimiter(',');
  sub->add_option("--delay", opts->delay, "Chunk time distribution: shifted-exp | pareto")
      ->check(CLI::IsMember({"shifted-exp", "pareto"}))
      ->capture_default_str();
  auto& m = opts->model;
  sub->add_option("--shift", m.shift, "shifted-exp: fixed part of a chunk time")
      ->capture_default_str();
  sub->add_option("--rate", m.rate, "shifted-exp: rate of the exponential part")
      ->capture_default_str();
  sub->add_option("--pareto-scale", m.pareto_scale, "pareto: smallest chunk time")
      ->capture_default_str();
  sub->add_option("--pareto-alpha", m.pareto_alpha, "pareto: tail index")->capture_default_str();
  sub->add_option("--slow-fraction", m.slow_fraction, "Fraction of workers slowed down per trial")
      ->capture_default_str();
  sub->add_option("--slow-factor", m.slow_factor, "Slowdown of the slow workers")
      ->capture_default_str();
  sub->add_option("--fail-fraction", m.fail_fraction,
                  "Fraction of workers that fail at a random chunk per trial")
      ->capture_default_str();
  return [opts] { return run(*opts); };
}

}  // namespace pgc::tools
