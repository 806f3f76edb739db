#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "pgc/sim/experiment.hpp"

namespace pgc::sim {

// CSV with a header line; +inf is written as "inf", NaN as an empty field.
std::string to_csv(const table& t);

// {"experiment", "parameters", "tables": {name: [{column: value}, ...]}}; non-finite numbers
// become null.
boost::json::object to_json(const experiment_result& r);

// What write_report produced.
struct report_files {
  std::vector<std::filesystem::path> written;
  bool gnuplot_found = false;
  std::vector<std::string> problems;  // plots that failed, for the user
};

// Writes NAME.csv per table, EXPERIMENT.json, and per plot a gnuplot script NAME.gp with its
// data NAME.dat, then runs gnuplot on it to make NAME.svg (skipped when `run_gnuplot` is false
// or gnuplot is not on the PATH: the scripts stay, to be run later). Throws std::runtime_error if
// the directory cannot be written.
report_files write_report(const experiment_result& r, const std::filesystem::path& dir,
                          bool run_gnuplot = true);

// `gnuplot` is on the PATH.
bool gnuplot_available();

}  // namespace pgc::sim
