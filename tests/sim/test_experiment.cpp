#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/sim/experiment.hpp"
#include "pgc/sim/report.hpp"

using pgc::sim::experiment_config;
using pgc::sim::run_experiment;

namespace {

double number(const pgc::sim::cell& c) {
  return std::get<double>(c);
}

}  // namespace

TEST_CASE("a fixed seed gives identical experiment output") {
  experiment_config c;
  c.workers = 30;
  c.load = 3;
  c.trials = 40;
  c.seed = 9;
  const auto a = boost::json::serialize(pgc::sim::to_json(run_experiment("time-vs-ell", c)));
  const auto b = boost::json::serialize(pgc::sim::to_json(run_experiment("time-vs-ell", c)));
  CHECK(a == b);
  c.seed = 10;
  CHECK(a != boost::json::serialize(pgc::sim::to_json(run_experiment("time-vs-ell", c))));
}

TEST_CASE("time vs ell has ratio one at ell equal to the load and below one otherwise") {
  experiment_config c;
  c.workers = 40;
  c.load = 3;
  c.trials = 50;
  const auto r = run_experiment("time-vs-ell", c);
  const auto& ratio = r.tables.at(1);
  REQUIRE(ratio.name == "time_ratio");
  REQUIRE(ratio.rows.size() == 6);  // 2 assignments x ell 1..3
  for (const auto& row : ratio.rows) {
    const auto ell = std::get<std::int64_t>(row[ratio.column("ell")]);
    const double mean = number(row[ratio.column("mean")]);
    const double q95 = number(row[ratio.column("q95")]);
    if (ell == 3) {
      // s = 0: both wait for every worker's whole list.
      CHECK(mean == 1.0);
    } else {
      CHECK(mean < 1.0);
      CHECK(q95 <= 1.0);
    }
  }
}

TEST_CASE("error vs deadline goes from one to zero and the proposed error is never larger") {
  experiment_config c;
  c.workers = 10;
  c.load = 3;
  c.ells = {1, 2};
  c.trials = 10;
  c.deadlines = {0.5, 4.0, 1000.0};
  const auto r = run_experiment("error-vs-deadline", c);
  const auto& t = r.tables.at(1);
  REQUIRE(t.name == "error_ratio");
  REQUIRE(t.rows.size() == 6);
  for (const auto& row : t.rows) {
    const double deadline = number(row[t.column("deadline")]);
    const double p = number(row[t.column("proposed_mean")]);
    const double o = number(row[t.column("original_mean")]);
    if (deadline == 0.5) {
      // Every chunk takes at least the shift 1: nothing is done.
      CHECK(p == 1.0);
      CHECK(o == 1.0);
    }
    if (deadline == 1000.0) {
      CHECK(p == 0.0);
      CHECK(o == doctest::Approx(0.0));
    }
    CHECK(p <= o + 1e-9);
  }
}

TEST_CASE("optimal order reaches the regular Q_max optimum") {
  experiment_config c;
  c.workers = 12;
  c.load = 3;
  c.trials = 5;
  const auto r = run_experiment("ordering", c);
  const auto& t = r.tables.at(0);
  for (const auto& row : t.rows) {
    if (std::get<std::string>(row[t.column("order")]) != "optimal") continue;
    const auto ell = std::get<std::int64_t>(row[t.column("ell")]);
    // 1 + N delta - (delta - ell + 1)(delta - ell + 2) / 2
    const double optimum = 1 + 36 - static_cast<double>((3 - ell + 1) * (3 - ell + 2)) / 2;
    CHECK(number(row[t.column("qmax_mean")]) == optimum);
  }
}

TEST_CASE("unknown experiments and bad parameters are input errors") {
  experiment_config c;
  CHECK_THROWS_WITH_AS(
      run_experiment("nope", c),
      "unknown experiment 'nope' (time-vs-ell, error-vs-deadline, ordering, polynomial)",
      pgc::core::input_error);
  c.workers = 5;
  c.load = 6;
  CHECK_THROWS_AS(run_experiment("time-vs-ell", c), pgc::core::input_error);
  c.load = 3;
  c.ells = {4};
  CHECK_THROWS_AS(run_experiment("time-vs-ell", c), pgc::core::input_error);
  c.ells = {};
  c.model.rate = -1.0;
  CHECK_THROWS_AS(run_experiment("time-vs-ell", c), pgc::core::input_error);
}
