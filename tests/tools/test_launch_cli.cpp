#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;
using pgc::test::slurp;

namespace {

boost::json::object launch_summary(const std::string& args, const std::string& name) {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/" + name + ".json";
  std::remove(path.c_str());
  const auto r = run_pgc("launch " + args + " --verify --summary " + path);
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return boost::json::parse(slurp(path)).as_object();
}

}  // namespace

TEST_CASE("pgc launch trains with real processes and every exact gradient matches the reference") {
  const auto s =
      launch_summary("--workers 6 --load 3 --ell 2 --iterations 4 --dim 37 --slow 1 --slowdown 2",
                     "launch-proposed");
  CHECK(s.at("scheme").as_string() == "proposed");
  CHECK(s.at("iterations").as_int64() == 4);
  CHECK(s.at("verified").as_bool());
  CHECK(s.at("max_rel_error").as_double() < 1e-9);
  CHECK(s.at("mean_iteration_seconds").as_double() > 0.0);
  CHECK(s.at("median_iteration_seconds").as_double() > 0.0);
  // The loss of least squares under gradient descent goes down.
  const auto& per = s.at("per_iteration").as_array();
  REQUIRE(per.size() == 4);
  CHECK(per.back().as_object().at("loss").as_double() <
        per.front().as_object().at("loss").as_double());
}

TEST_CASE("pgc launch with two slow workers and one crash decodes every gradient exactly") {
  // The acceptance run: N = 8, cyclic delta = 3, ell 1 and 2, two workers slowed 5x, one
  // crashing in iteration 1, 20 iterations; proposed and original gradient coding.
  for (const char* scheme : {"proposed", "original"}) {
    for (int ell : {1, 2}) {
      CAPTURE(scheme);
      CAPTURE(ell);
      const auto s = launch_summary(std::string("--workers 8 --load 3 --ell ") +
                                        std::to_string(ell) + " --scheme " + scheme +
                                        " --iterations 20 --dim 64 --slow 2 --slowdown 5 --fail 1",
                                    std::string("launch-") + scheme + std::to_string(ell));
      CHECK(s.at("scheme").as_string() == scheme);
      CHECK(s.at("iterations").as_int64() == 20);
      CHECK(s.at("verified").as_bool());
      CHECK(s.at("max_rel_error").as_double() < 1e-9);
      int lost = 0;
      for (const auto& it : s.at("per_iteration").as_array()) {
        CHECK(it.as_object().at("exact").as_bool());
        lost += static_cast<int>(it.as_object().at("workers_lost").as_int64());
      }
      CHECK(lost >= 1);  // the crash happened inside the run
      // Every worker runs on the PS's host (the crashed one included, before its crash): each
      // sent its coded vectors through shared memory.
      CHECK(s.at("shared_memory_links").as_int64() == 8);
    }
  }
}

TEST_CASE("pgc launch runs ignore stragglers and uncoded") {
  const auto ignore = launch_summary(
      "--workers 6 --load 2 --ell 1 --scheme ignore --iterations 3 --dim 8", "launch-ignore");
  CHECK(ignore.at("iterations").as_int64() == 3);
  // Ignoring a straggler loses its chunk: the decode is a rescaled partial sum, not exact.
  CHECK(ignore.at("max_rel_error").as_double() > 1e-6);
  const auto uncoded = launch_summary(
      "--workers 5 --load 1 --scheme uncoded --iterations 3 --dim 8", "launch-uncoded");
  CHECK(uncoded.at("max_rel_error").as_double() < 1e-9);
}

TEST_CASE("pgc launch and pgc worker reject bad arguments with exit code 2") {
  struct bad_case {
    const char* args;
    const char* message;
  };
  const bad_case cases[] = {
      {"launch --workers 4 --load 5", "--load"},
      {"launch --workers 4 --load 2 --ell 3", "--ell"},
      {"launch --workers 4 --slow 3 --fail 2", "--slow and --fail"},
      {"launch --mode approx", "--deadline"},
      {"launch --listen nowhere", "HOST:PORT"},
      {"launch --scheme fancy", "--scheme"},
      {"worker --chunks 4", "--connect"},
      {"worker --connect 127.0.0.1:1 --chunks 4 --fail-at x", "--fail-at"},
      {"ps --scheme frc --load 3 --ell 2 --workers 6", "ell"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    const auto r = run_pgc(c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
  }
}

TEST_CASE("pgc launch --csv writes a header and one line per iteration") {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/launch-log.csv";
  std::remove(path.c_str());
  const auto r =
      run_pgc("launch --workers 4 --load 2 --ell 2 --iterations 5 --dim 9 --verify --csv " + path);
  REQUIRE(r.exit_code == 0);
  const std::string text = slurp(path);
  CHECK(text.rfind("iteration,seconds,loss,test_accuracy,exact,", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 6);
  // The last line: iteration 4, exact, and a relative error below 1e-9.
  const auto last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  CHECK(last.rfind("4,", 0) == 0);
  const double rel = std::stod(last.substr(last.rfind(',') + 1));
  CHECK(rel < 1e-9);
}

TEST_CASE("pgc launch with a float32 wire decodes exactly up to float rounding") {
  // ell = 2: the decode mixes the rounded coded vectors with Gaussian coefficients.
  const auto s = launch_summary(
      "--workers 6 --load 3 --ell 2 --iterations 5 --dim 300 --wire-precision f32",
      "launch-f32");
  CHECK(s.at("wire_precision").as_string() == "f32");
  CHECK(s.at("verified").as_bool());
  const auto& per = s.at("per_iteration").as_array();
  REQUIRE(per.size() == 5);
  for (const auto& v : per) {
    const auto& it = v.as_object();
    CAPTURE(it.at("iteration").as_int64());
    CHECK(it.at("exact").as_bool());  // still an exact-mode decode: only the wire rounds
    const double rel = it.at("rel_error").as_double();
    CHECK(rel > 0.0);  // the rounding shows: the payloads really were float32
    CHECK(rel <= 1e-6);
  }
  CHECK(s.at("max_rel_error").as_double() <= 1e-6);
}

TEST_CASE("pgc launch through shared memory and over the socket decodes the same gradients") {
  // Workers on the PS's host build their coded vectors in memory shared with the PS by default;
  // --no-shared-memory sends the bytes. Both decode every step exactly (up to float rounding with
  // float32 payloads), so the two runs train the same model. (Not to the last bit: which state
  // vector triggers a step depends on timing, and with it the coefficients' rounding.)
  for (const char* precision : {"f64", "f32"}) {
    CAPTURE(precision);
    const std::string args = std::string("--workers 6 --load 3 --ell 2 --iterations 6 --dim 5000 "
                                         "--wire-precision ") +
                             precision;
    const auto shared = launch_summary(args, std::string("launch-shm-") + precision);
    const auto bytes = launch_summary(args + " --no-shared-memory",
                                      std::string("launch-noshm-") + precision);
    CHECK(shared.at("shared_memory_links").as_int64() == 6);
    CHECK(bytes.at("shared_memory_links").as_int64() == 0);
    CHECK(shared.at("verified").as_bool());
    CHECK(bytes.at("verified").as_bool());
    const auto& a = shared.at("per_iteration").as_array();
    const auto& b = bytes.at("per_iteration").as_array();
    REQUIRE(a.size() == 6);
    REQUIRE(b.size() == 6);
    for (std::size_t i = 0; i < a.size(); ++i) {
      CAPTURE(i);
      const double la = a[i].as_object().at("loss").as_double();
      const double lb = b[i].as_object().at("loss").as_double();
      CHECK(std::abs(la - lb) <= 1e-6 * std::abs(lb));
      CHECK(a[i].as_object().at("exact").as_bool());
    }
  }
}

TEST_CASE("pgc launch and pgc ps reject an unknown wire precision with exit code 2") {
  for (const char* args : {"launch --wire-precision f16", "ps --wire-precision double"}) {
    CAPTURE(args);
    const auto r = run_pgc(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--wire-precision") != std::string::npos);
    CHECK(r.err.find("f64") != std::string::npos);  // says what is allowed
  }
}
