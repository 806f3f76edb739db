#include <fstream>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;

TEST_CASE("pgc assign prints one JSON object with the lists and Q_max") {
  const auto r =
      run_pgc("assign --kind cyclic --workers 6 --load 3 --ell 2 --order optimal --json");
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto v = boost::json::parse(r.out).as_object();
  CHECK(v.at("workers").as_int64() == 6);
  CHECK(v.at("chunks").as_int64() == 6);
  CHECK(v.at("ell").as_int64() == 2);
  // Regular optimum: 1 + N delta - (delta - ell + 1)(delta - ell + 2) / 2 = 1 + 18 - 3 = 16.
  CHECK(v.at("qmax").as_int64() == 16);
  const auto& lists = v.at("lists").as_array();
  REQUIRE(lists.size() == 6);
  for (const auto& l : lists)
    CHECK(l.as_array().size() == 3);
  for (const auto& r : v.at("replication").as_array())
    CHECK(r.as_int64() == 3);
}

TEST_CASE("pgc assign reads an assignment file and reports its replication") {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/assign-cli.txt";
  {
    std::ofstream f(path);
    f << "# worker lists\n0 1 2\n1 2\n2 0\n";
  }
  const auto r = run_pgc("assign --kind file --file " + path + " --ell 2 --json");
  REQUIRE(r.exit_code == 0);
  const auto v = boost::json::parse(r.out).as_object();
  CHECK(v.at("workers").as_int64() == 3);
  CHECK(v.at("lists").as_array().at(0).as_array().size() == 3);
  // r_i(j) = chunks worker i loses if it stops just before j. With ell = 2 a chunk with H
  // holders stays below ell once H - 1 of them stop before it. Chunk 0: W0 r=3, W2 r=1 -> 1.
  // Chunk 1: W0 r=2, W1 r=2 -> 2. Chunk 2: W0 r=1, W1 r=1, W2 r=2 -> two smallest: 2.
  // Q_max = 1 + 7 - min(1, 2, 2) = 7: W2 stopping before chunk 0 leaves 6 chunks done.
  CHECK(v.at("qmax").as_int64() == 7);

  const auto text = run_pgc("assign --kind file --file " + path + " --ell 1");
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("worker 0: 0 1 2") != std::string::npos);
  CHECK(text.out.find("Q_max =") != std::string::npos);
}

TEST_CASE("pgc assign answers bad arguments with a message and exit code 2") {
  struct bad_case {
    const char* args;
    const char* message;
  };
  const std::string missing = std::string(PGC_BINARY_DIR) + "/tests/no-such-file.txt";
  const bad_case cases[] = {
      {"assign --kind cyclic --workers 6 --load 3 --ell 4", "larger than the replication"},
      {"assign --kind cyclic --workers 6 --load 9 --ell 1", "--load"},
      {"assign --kind frc --workers 7 --load 3 --ell 1", "divide"},
      {"assign --kind weird --workers 6 --load 3 --ell 1", "--kind"},
      {"assign --kind cyclic --workers 6 --load 3", "--ell"},
      {"assign --kind cyclic --workers x --load 3 --ell 1", "--workers"},
      {"assign --kind cyclic --workers 6 --load 3 --ell 1 --order best", "--order"},
      {"assign --kind file --ell 1", "--file"},
      {"assign --kind regular --workers 6 --chunks 7 --load 2 --ell 1", "--chunks"},
      {"frobnicate", "frobnicate"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    const auto r = run_pgc(c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(c.message) != std::string::npos);
  }
  const auto r = run_pgc("assign --kind file --file " + missing + " --ell 1");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot open assignment file") != std::string::npos);
}
