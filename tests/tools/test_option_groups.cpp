// The command line's option groups without a process: what a group writes back as arguments
// parses to the same values, enums and bounds are refused with the flag's name, and the
// fingerprints and the readiness line say what they should.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <doctest/doctest.h>

#include "options/dashboard_options.hpp"
#include "options/logging_options.hpp"
#include "options/optimizer_options.hpp"
#include "options/option_helpers.hpp"
#include "options/output_options.hpp"
#include "options/protocol_options.hpp"
#include "options/tls_options.hpp"
#include "options/workload_options.hpp"
#include "pgc/core/error.hpp"
#include "ready_signal.hpp"

namespace {

using namespace pgc::tools;

// The groups of pgc ps, on an app of their own.
struct groups {
  protocol_options protocol;
  optimizer_options optimizer;
  workload_options workload;
  output_options output;
  logging_options logging;
  tls_options tls{tls_role::cluster};
  CLI::App app;

  groups() {
    protocol.add_to(app);
    optimizer.add_to(app);
    workload.add_to(app);
    output.add_to(app);
    logging.add_to(app);
    tls.add_to(app);
  }

  std::vector<std::string> arguments() const {
    std::vector<std::string> all;
    for (const auto& g : {protocol.arguments(), optimizer.arguments(), workload.arguments(),
                          output.arguments(), logging.arguments(), tls.arguments()})
      all.insert(all.end(), g.begin(), g.end());
    return all;
  }
};

void parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.parse(args);
}

}  // namespace

TEST_CASE("option groups written back as arguments parse to the same values") {
  groups a;
  parse(a.app, {"--workers",
                "6",
                "--load",
                "3",
                "--ell",
                "2",
                "--scheme",
                "frc",
                "--mode",
                "approx",
                "--deadline",
                "0.25",
                "--kind",
                "regular",
                "--order",
                "heuristic",
                "--wire-precision",
                "f32",
                "--on-shortfall",
                "stop",
                "--lr",
                "1e-7",
                "--nesterov",
                "--noise",
                "0.1",
                "--verify",
                "--checkpoint",
                "c.ckpt",
                "--checkpoint-every",
                "3",
                "--resume",
                "--log-level",
                "debug",
                "--quiet",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--tls-ca",
                "ca.pem"});
  CHECK(a.protocol.scheme == pgc::coding::scheme_kind::fractional_repetition);
  CHECK(a.protocol.mode == pgc::nodes::signal_mode::approximate);
  CHECK(a.protocol.kind == assignment_kind::regular);
  CHECK(a.protocol.wire_precision == pgc::nodes::wire_precision::f32);
  CHECK(a.logging.threshold() == pgc::core::log_level::warn);
  groups b;
  parse(b.app, a.arguments());
  CHECK(b.arguments() == a.arguments());
  CHECK(b.optimizer.lr == 1e-7);  // forwarded without rounding
  // The PS gets the certificate and key, the workers the CA.
  CHECK(a.tls.for_ps().arguments() ==
        std::vector<std::string>{"--tls-cert", "c.pem", "--tls-key", "k.pem"});
  CHECK(a.tls.for_workers().arguments() == std::vector<std::string>{"--tls-ca", "ca.pem"});
}

TEST_CASE("an unknown name or an out of range number is refused naming the flag") {
  struct bad_case {
    std::vector<std::string> args;
    const char* message;
  };
  const bad_case cases[] = {
      {{"--scheme", "fancy"}, "proposed, original, frc, ignore, uncoded"},
      {{"--iterations", "-1"}, "--iterations"},
      {{"--heartbeat-ms", "5"}, "--heartbeat-ms"},
      {{"--workers", "0"}, "--workers"},
      {{"--checkpoint-every", "0"}, "--checkpoint-every"},
      {{"--log-level", "loud"}, "debug, info, warn, error"},
      {{"--data-seed", "-3"}, "--data-seed"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    groups g;
    try {
      parse(g.app, c.args);
      FAIL("accepted");
    } catch (const CLI::ParseError& e) {
      CHECK(std::string(e.what()).find(c.message) != std::string::npos);
    }
  }
}

TEST_CASE("the groups refuse combinations the scheme cannot run") {
  groups g;
  parse(g.app, {"--workers", "4", "--load", "5"});
  CHECK_THROWS_WITH_AS(g.protocol.validate(), doctest::Contains("--load"), pgc::core::input_error);
  groups h;
  parse(h.app, {"--mode", "approx"});
  CHECK_THROWS_WITH_AS(h.protocol.validate(), doctest::Contains("--deadline"),
                       pgc::core::input_error);
  groups t;
  parse(t.app, {"--tls-cert", "c.pem"});
  CHECK_THROWS_WITH_AS(t.tls.validate(), doctest::Contains("--tls-ca"), pgc::core::input_error);
}

TEST_CASE("the checkpoint fingerprint ignores how long and how a run talks but not its numbers") {
  protocol_options a;
  protocol_options b = a;
  b.iterations = 1000;
  b.heartbeat_ms = 1000;
  b.wire_precision = pgc::nodes::wire_precision::f32;
  CHECK(a.fingerprint_arguments() == b.fingerprint_arguments());
  b.seed = 2;
  CHECK(a.fingerprint_arguments() != b.fingerprint_arguments());
}

TEST_CASE("the workload fingerprint names the flag that differs") {
  workload_options a;
  workload_options b;
  b.data_seed = 2;
  const auto d = a.fingerprint().difference(b.fingerprint());
  REQUIRE(d.has_value());
  CHECK(d->find("--data-seed") == 0);
  CHECK_FALSE(a.fingerprint().difference(workload_options{}.fingerprint()).has_value());
}

TEST_CASE("the readiness line reads back what the PS wrote") {
  ready_signal s;
  s.listen = pgc::net::parse_endpoint("0.0.0.0:7000");
  s.dashboard = pgc::net::parse_endpoint("127.0.0.1:8080");
  s.pid = 42;
  const ready_signal r = ready_signal::parse(s.to_json());
  CHECK(r.listen == s.listen);
  CHECK(r.dashboard == s.dashboard);
  CHECK(r.pid == 42);
  CHECK(ready_signal::parse(R"({"listen":"127.0.0.1:1","dashboard":null})").dashboard ==
        std::nullopt);
  CHECK_THROWS(ready_signal::parse("pgc ps: listening on 127.0.0.1:1"));
}

TEST_CASE("an output path in a missing directory is refused before any work") {
  CHECK_THROWS_WITH_AS(check_writable("/nonexistent/dir/run.json", "--summary file"),
                       doctest::Contains("cannot write --summary file '/nonexistent/dir/run.json'"),
                       pgc::core::input_error);
  const std::string ok = std::string(PGC_BINARY_DIR) + "/tests/writable-check.json";
  CHECK_NOTHROW(check_writable(ok, "--summary file"));
  CHECK(std::fopen(ok.c_str(), "r") == nullptr);  // nothing left behind
}
