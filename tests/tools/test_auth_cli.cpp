// The shared-secret handshake between real processes: a cluster with the secret runs; a worker
// without it, with another secret, or facing a PS without one is refused with a clear message
// and gives up instead of retrying.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "child_process.hpp"
#include "ps_log.hpp"
#include "run_pgc.hpp"

using pgc::test::child_process;
using pgc::test::run_pgc;
using namespace std::chrono_literals;

namespace {

std::string write_secret(const std::string& name, const std::string& secret) {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/auth-" + name;
  std::ofstream(path) << secret << '\n';
  return path;
}

// A PS for 2 workers (with `secret_file` when non-empty); returns its port.
std::string start_ps(child_process*& out, const std::string& secret_file, const std::string& log) {
  std::vector<std::string> args{"ps", "--listen", "127.0.0.1:0", "--workers", "2", "--load", "2",
                                "--iterations", "3", "--workload", "synthetic", "--dim", "20",
                                "--heartbeat-ms", "100"};
  if (!secret_file.empty()) {
    args.push_back("--secret-file");
    args.push_back(secret_file);
  }
  out = new child_process(args, std::string(PGC_BINARY_DIR) + "/tests/auth-" + log);
  return pgc::test::ps_port(*out);
}

pgc::test::process_result run_worker(const std::string& port, const std::string& secret_file) {
  std::string args = "worker --connect 127.0.0.1:" + port +
                     " --name intruder --chunks 2 --workload synthetic --dim 20 --heartbeat-ms 100";
  if (!secret_file.empty()) args += " --secret-file " + secret_file;
  return run_pgc(args);
}

}  // namespace

TEST_CASE("a cluster whose nodes share the secret trains and verifies every step") {
  const auto secret = write_secret("good", "correct horse battery staple 42");
  const auto r = run_pgc("launch --workers 4 --load 2 --iterations 5 --dim 64 --verify --secret-file " +
                         secret);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("verified") != std::string::npos);
}

TEST_CASE("workers without the secret or with another one are refused and give up") {
  const auto secret = write_secret("ps", "the secret of the parameter server");
  const auto other = write_secret("other", "a secret of somebody else entirely");
  child_process* ps = nullptr;
  const std::string port = start_ps(ps, secret, "refuse-ps.log");

  auto r = run_worker(port, "");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("refused authentication") != std::string::npos);

  r = run_worker(port, other);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("refused authentication") != std::string::npos);
  CHECK(r.err.find("different secret") != std::string::npos);

  const std::string log = ps->output();
  CHECK(log.find("did not authenticate") != std::string::npos);
  CHECK(log.find("failed authentication") != std::string::npos);
  ps->signal(SIGTERM);
  ps->wait_for(10s);
  delete ps;
}

TEST_CASE("a worker with a secret refuses a ps without one") {
  const auto secret = write_secret("lonely", "a secret the ps does not know of");
  child_process* ps = nullptr;
  const std::string port = start_ps(ps, "", "nosecret-ps.log");
  const auto r = run_worker(port, secret);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("sent no challenge") != std::string::npos);
  ps->signal(SIGTERM);
  ps->wait_for(10s);
  delete ps;
}

TEST_CASE("a missing or too short secret file is a usage error") {
  auto r = run_pgc("ps --secret-file /nonexistent/secret");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/secret") != std::string::npos);
  const auto short_secret = write_secret("short", "abc");
  r = run_pgc("worker --connect 127.0.0.1:1 --chunks 2 --secret-file " + short_secret);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("fewer than 16 bytes") != std::string::npos);
}
