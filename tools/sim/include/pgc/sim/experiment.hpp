#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pgc/sim/straggler_model.hpp"

namespace pgc::sim {

// One cell of a result table. Doubles may be +inf (a scheme that never completed); writers turn
// that into null (JSON) or "inf" (CSV, text).
using cell = std::variant<std::int64_t, double, std::string>;

struct table {
  std::string name;  // file stem, e.g. "time_vs_ell"
  std::vector<std::string> columns;
  std::vector<std::vector<cell>> rows;

  // Index of a column; throws std::out_of_range for an unknown name (a bug, not bad input).
  std::size_t column(std::string_view name) const;
};

// A line of a plot: the rows of `table` whose `match` columns hold the given text values,
// x and y from the named columns, optional error bars from `low`/`high`.
struct series {
  std::string label;
  std::vector<std::pair<std::string, std::string>> match;
  std::string y;
  std::string low;
  std::string high;
};

struct plot {
  std::string name;  // file stem of the .svg
  std::string table;
  std::string title;
  std::string x;
  std::string xlabel;
  std::string ylabel;
  bool log_y = false;
  std::vector<series> lines;
};

struct experiment_result {
  std::string name;
  std::vector<std::pair<std::string, std::string>> parameters;  // for the JSON header
  std::vector<table> tables;
  std::vector<plot> plots;
  std::string text;  // the compact table for stdout
};

// Knobs of an experiment; 0 or empty means the experiment's own default (DESIGN.md setups:
// N = 100, load 5, shifted-exponential chunk times 1 + Exp(1) with 10% of the workers five
// times slower).
struct experiment_config {
  int workers = 0;
  int load = 0;
  std::vector<int> ells;
  int trials = 0;
  std::uint64_t seed = 1;
  straggler_model model = default_model();
  std::vector<double> deadlines;
  // Called now and then with (done, total) work units; may print a progress line.
  std::function<void(long long, long long)> progress;

  static straggler_model default_model() {
    straggler_model m;
    m.slow_fraction = 0.1;
    m.slow_factor = 5.0;
    return m;
  }
};

// The experiments of `pgc sim --experiment NAME`.
std::vector<std::string_view> experiment_names();

// Runs one experiment; throws core::input_error for an unknown name (listing the valid ones) or
// parameters the experiment cannot use. Deterministic for a fixed config.seed.
experiment_result run_experiment(std::string_view name, const experiment_config& config);

}  // namespace pgc::sim
