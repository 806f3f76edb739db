#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;

namespace {

std::string write_trace(const std::string& name, const std::string& text) {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("pgc sim --trace --json prints the completion times of the exact schemes") {
  // Cyclic N = 4, load 2 (worker w holds w, w+1). Finish times: w0 chunks 0, 1 at 1, 2;
  // w1 chunks 1, 2 at 1, 6; w2 chunks 2, 3 at 2, 4; w3 chunk 3 at 1, then fails.
  // ell = 1: first copies at 1, 1, 2, 1 -> proposed 2; s = 1: third whole list at 6.
  const auto path = write_trace("sim-trace-1.txt", "1 1\n1 5\n2 2\n1 inf\n");
  const auto r = run_pgc("sim --trace " + path + " --load 2 --ell 1 --json");
  REQUIRE(r.exit_code == 0);
  const auto v = boost::json::parse(r.out).as_object();
  CHECK(v.at("proposed").to_number<double>() == 2.0);
  CHECK(v.at("original").to_number<double>() == 6.0);
  CHECK(v.at("workers").as_int64() == 4);
  // ell = 2: chunk 0 only ever gets one copy; s = 0 needs worker 3's whole list.
  const auto r2 = run_pgc("sim --trace " + path + " --load 2 --ell 2 --json");
  REQUIRE(r2.exit_code == 0);
  const auto v2 = boost::json::parse(r2.out).as_object();
  CHECK(v2.at("proposed").is_null());
  CHECK(v2.at("original").is_null());
}

TEST_CASE("pgc sim rejects a bad trace line with exit code 2") {
  const auto path = write_trace("sim-trace-bad.txt", "1 1\n1 fast\n1 1\n1 1\n");
  const auto r = run_pgc("sim --trace " + path + " --load 2 --json");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("trace line 2: 'fast' is not a time in seconds") != std::string::npos);
}

TEST_CASE("pgc sim rejects unknown experiments and bad numbers with exit code 2") {
  const auto r = run_pgc("sim --experiment nope");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown experiment 'nope'") != std::string::npos);
  CHECK(run_pgc("sim --experiment time-vs-ell --trials many").exit_code == 2);
  CHECK(run_pgc("sim --experiment time-vs-ell --rate -1").exit_code == 2);
  CHECK(run_pgc("sim").exit_code == 2);
}

TEST_CASE("pgc sim --experiment writes CSV and JSON and is reproducible") {
  const std::string dir = std::string(PGC_BINARY_DIR) + "/tests/sim-out";
  std::filesystem::remove_all(dir);
  const std::string args =
      "sim --experiment time-vs-ell --workers 20 --load 3 --trials 30 --seed 4 ";
  const auto a = run_pgc(args + "--out " + dir + " --no-plots");
  REQUIRE(a.exit_code == 0);
  CHECK(a.out.find("ratio cyclic") != std::string::npos);
  CHECK(std::filesystem::exists(dir + "/time_vs_ell.csv"));
  CHECK(std::filesystem::exists(dir + "/time_ratio.csv"));
  CHECK(std::filesystem::exists(dir + "/time-vs-ell.json"));
  CHECK(std::filesystem::exists(dir + "/time_vs_ell.gp"));
  const auto b = run_pgc(args + "--json");
  const auto c = run_pgc(args + "--json");
  REQUIRE(b.exit_code == 0);
  CHECK(b.out == c.out);
  const auto v = boost::json::parse(b.out).as_object();
  CHECK(v.at("tables").as_object().at("time_ratio").as_array().size() == 6);
}
