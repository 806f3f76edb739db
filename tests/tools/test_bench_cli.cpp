#include <cmath>
#include <cstdio>
#include <string>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;

namespace {

std::string json_path(const std::string& name) {
  return std::string(PGC_BINARY_DIR) + "/tests/" + name;
}

boost::json::object read_json(const std::string& path) {
  const std::string text = pgc::test::slurp(path);
  std::remove(path.c_str());
  return boost::json::parse(text).as_object();
}

bool finite_positive(const boost::json::value& v) {
  if (!v.is_number()) return false;
  const double x = v.to_number<double>();
  return std::isfinite(x) && x > 0;
}

// A number, or null with a reason in "reasons".
void check_number_or_explained_null(const boost::json::object& o, const std::string& key) {
  INFO("key ", key);
  REQUIRE(o.contains(key));
  if (o.at(key).is_null()) {
    const auto& reasons = o.at("reasons").as_object();
    REQUIRE(reasons.contains(key));
    CHECK(!reasons.at(key).as_string().empty());
  } else {
    CHECK(finite_positive(o.at(key)));
  }
}

}  // namespace

// Never asserts a speed: only that every headline ratio is measured and sane.
TEST_CASE("pgc bench --quick --json writes the headline ratios as finite positive numbers") {
  const std::string path = json_path("bench-quick.json");
  const auto r = run_pgc("bench --quick --json " + path);
  INFO("stderr: ", r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("channel_vs_raw") != std::string::npos);  // the table
  const auto o = read_json(path);
  for (const char* key : {"channel_vs_raw", "coef_solve_us_ell8_h32", "encode_vs_axpy",
                          "decode_vs_axpy", "tracker_update_ns", "channel_with_build_vs_raw",
                          "f32_bytes_ratio", "f32_decode_rel_error"}) {
    INFO("key ", key);
    REQUIRE(o.contains(key));
    CHECK(finite_positive(o.at(key)));
  }
  // MPI is optional: where it was not found the ratio is null and the reason says why.
  check_number_or_explained_null(o, "gather_vs_mpi_gather");
  check_number_or_explained_null(o, "gather_vs_mpi_reduce");
  CHECK(o.at("quick").as_bool());
  // Float32 halves the payload; its decode error is about one float rounding.
  CHECK(o.at("f32_bytes_ratio").as_double() < 0.51);
  CHECK(o.at("f32_decode_rel_error").as_double() < 1e-6);
  // The PS memory needs /proc/self/clear_refs; without it the figure is null with the reason.
  check_number_or_explained_null(o, "ps_peak_memory_vs_bound");
}

TEST_CASE("pgc bench --no-mpi reports the MPI ratio as null with a reason") {
  const std::string path = json_path("bench-no-mpi.json");
  const auto r = run_pgc("bench --quick --only gather --no-mpi --json " + path);
  INFO("stderr: ", r.err);
  REQUIRE(r.exit_code == 0);
  const auto o = read_json(path);
  CHECK(o.at("gather_vs_mpi_gather").is_null());
  CHECK(o.at("reasons").as_object().at("gather_vs_mpi_gather").as_string().find("--no-mpi") !=
        std::string::npos);
  CHECK(finite_positive(o.at("gather_s_n8_d1e5")));
}

TEST_CASE("pgc bench rejects bad arguments with exit code 2 and a message") {
  for (const char* args :
       {"bench --repeats 0", "bench --only coding,nope", "bench --gather-d 1.5",
        "bench --encode-d many", "bench --gather-workers 0", "bench --ells 0 --only coding"}) {
    INFO("args: ", args);
    const auto r = run_pgc(args);
    CHECK(r.exit_code == 2);
    CHECK(!r.err.empty());
    CHECK(r.out.empty());
  }
}
