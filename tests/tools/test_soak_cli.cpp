// Soak: 64 workers and 1,000 iterations on loopback with random per-chunk delays. Every step is
// exact and verified against the single-process reference, and the PS's resident memory after
// warm-up stays flat (within 5%): nothing grows with the number of iterations but the bounded
// dashboard history and the per-iteration records of the summary.
#include <cstdio>
#include <string>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;
using pgc::test::slurp;

TEST_CASE("64 workers for 1000 iterations with random delays: every step exact and memory flat") {
#ifdef __SANITIZE_ADDRESS__
  // AddressSanitizer's quarantine holds freed memory, so resident memory grows by design there;
  // a shorter run still checks every step.
  const int iterations = 200;
  const bool check_memory = false;
#else
  const int iterations = 1000;
  const bool check_memory = true;
#endif
  const std::string summary = std::string(PGC_BINARY_DIR) + "/tests/soak.json";
  std::remove(summary.c_str());
  const auto r = run_pgc("launch --workers 64 --load 3 --ell 1 --iterations " +
                         std::to_string(iterations) +
                         " --dim 100 --samples 6400 --delay-model exp:5 --verify --summary " +
                         summary);
  INFO(r.out.substr(r.out.size() > 3000 ? r.out.size() - 3000 : 0));
  REQUIRE(r.exit_code == 0);
  const auto s = boost::json::parse(slurp(summary)).as_object();
  CHECK(s.at("iterations").as_int64() == iterations);
  CHECK(s.at("verified").as_bool());
  CHECK(s.at("max_rel_error").as_double() < 1e-9);
  int exact = 0;
  for (const auto& it : s.at("per_iteration").as_array())
    exact += it.at("exact").as_bool() ? 1 : 0;
  CHECK(exact == iterations);
  const double warm = static_cast<double>(s.at("rss_bytes_after_warmup").as_int64());
  const double last = static_cast<double>(s.at("rss_bytes_final").as_int64());
  MESSAGE("PS resident memory after warm-up " << warm / 1048576 << " MiB, at the end "
                                              << last / 1048576 << " MiB");
  CHECK(warm > 0);
  if (check_memory) CHECK(last <= 1.05 * warm);
}
