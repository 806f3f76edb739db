// TLS between real processes: a cluster over TLS (with the shared secret inside it) runs and
// verifies every step; workers with the wrong CA, without TLS, or without the client certificate
// a mutual-TLS PS asks for are refused with a message naming the problem and give up; bad TLS
// arguments are usage errors.
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "../net/tls_certs.hpp"
#include "child_process.hpp"
#include "ps_log.hpp"
#include "run_pgc.hpp"

using pgc::test::child_process;
using pgc::test::run_pgc;
using namespace std::chrono_literals;

namespace {

// Per process: ctest -j runs each test case as its own process, and one writing the files while
// another reads them makes a certificate signed by another run's CA.
const pgc::test::tls_files& files() {
  static const pgc::test::tls_files f = pgc::test::make_tls_files(
      std::string(PGC_BINARY_DIR) + "/tests/tls-cli-" + std::to_string(::getpid()));
  return f;
}

// A PS for 2 workers with `extra` arguments; returns its port.
std::string start_ps(std::unique_ptr<child_process>& out, const std::vector<std::string>& extra,
                     const std::string& log) {
  std::vector<std::string> args{"ps", "--listen", "127.0.0.1:0", "--workers", "2", "--load", "2",
                                "--iterations", "3", "--workload", "synthetic", "--dim", "20",
                                "--heartbeat-ms", "100"};
  args.insert(args.end(), extra.begin(), extra.end());
  out = std::make_unique<child_process>(args, std::string(PGC_BINARY_DIR) + "/tests/tls-" + log);
  return pgc::test::ps_port(*out);
}

std::string worker_args(const std::string& port, const std::string& name) {
  return "worker --connect 127.0.0.1:" + port + " --name " + name +
         " --chunks 2 --workload synthetic --dim 20 --heartbeat-ms 100";
}

std::string server_tls() {
  return " --tls-cert " + files().server_cert + " --tls-key " + files().server_key;
}

void stop(std::unique_ptr<child_process>& ps) {
  ps->signal(SIGTERM);
  ps->wait_for(10s);
}

}  // namespace

TEST_CASE("a cluster over TLS with a shared secret trains and verifies every step") {
  const std::string secret = std::string(PGC_BINARY_DIR) + "/tests/tls-secret";
  std::ofstream(secret) << "a secret that travels inside TLS\n";
  const auto r = run_pgc("launch --workers 4 --load 2 --iterations 5 --dim 64 --verify "
                         "--secret-file " + secret + server_tls() + " --tls-ca " + files().ca);
  INFO(r.out);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("over TLS only") != std::string::npos);
  CHECK(r.out.find("5 iterations") != std::string::npos);
  CHECK(r.out.find("verified") != std::string::npos);
}

TEST_CASE("a worker that does not trust the PS certificate gives up naming the problem") {
  std::unique_ptr<child_process> ps;
  const std::string port = start_ps(
      ps, {"--tls-cert", files().server_cert, "--tls-key", files().server_key}, "wrong-ca.log");
  const auto r = run_pgc(worker_args(port, "doubter") + " --tls-ca " + files().other_ca);
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("failed verification") != std::string::npos);
  CHECK(r.err.find("unable to get local issuer certificate") != std::string::npos);
  // Another host name than the certificate's: refused as well.
  const auto r2 = run_pgc(worker_args(port, "misnamed") + " --tls-ca " + files().ca +
                          " --tls-server-name ps.example.org");
  INFO(r2.err);
  CHECK(r2.exit_code != 0);
  CHECK(r2.err.find("hostname mismatch") != std::string::npos);
  // A plain worker is told to use TLS and gives up too.
  const auto r3 = run_pgc(worker_args(port, "plain"));
  INFO(r3.err);
  CHECK(r3.exit_code != 0);
  CHECK(r3.err.find("accepts TLS connections only") != std::string::npos);
  CHECK(ps->running());
  const std::string log = ps->output();
  CHECK(log.find("TLS handshake with 127.0.0.1:") != std::string::npos);
  CHECK(log.find("does not speak TLS") != std::string::npos);
  stop(ps);
}

TEST_CASE("a TLS worker gives up on a PS without TLS") {
  std::unique_ptr<child_process> ps;
  const std::string port = start_ps(ps, {}, "plain-ps.log");
  const auto r = run_pgc(worker_args(port, "careful") + " --tls-ca " + files().ca);
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("does not speak TLS") != std::string::npos);
  CHECK(ps->running());
  stop(ps);
}

TEST_CASE("a PS with mutual TLS refuses a worker without a client certificate and runs with two that have one") {
  std::unique_ptr<child_process> ps;
  const std::string port =
      start_ps(ps,
               {"--tls-cert", files().server_cert, "--tls-key", files().server_key, "--tls-ca",
                files().ca},
               "mutual-ps.log");
  const auto r = run_pgc(worker_args(port, "anonymous") + " --tls-ca " + files().ca);
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("refused the connection") != std::string::npos);
  CHECK(r.err.find("certificate required") != std::string::npos);
  CHECK(ps->output().find("requires a client certificate") != std::string::npos);

  std::vector<std::unique_ptr<child_process>> workers;
  for (int w = 0; w < 2; ++w) {
    std::vector<std::string> args{"worker", "--connect", "127.0.0.1:" + port, "--name",
                                  "w" + std::to_string(w), "--chunks", "2", "--workload",
                                  "synthetic", "--dim", "20", "--heartbeat-ms", "100", "--tls-ca",
                                  files().ca, "--tls-cert", files().client_cert, "--tls-key",
                                  files().client_key};
    workers.push_back(std::make_unique<child_process>(
        args, std::string(PGC_BINARY_DIR) + "/tests/tls-mutual-w" + std::to_string(w) + ".log"));
  }
  for (auto& w : workers)
    CHECK(w->wait_for(30s) == 0);
  INFO(ps->output());
  CHECK(ps->wait_for(30s) == 0);
  CHECK(ps->output().find("3 iterations") != std::string::npos);
}

TEST_CASE("incomplete or unreadable TLS arguments are usage errors") {
  auto r = run_pgc("ps --tls-cert " + files().server_cert);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--tls-key") != std::string::npos);
  r = run_pgc("ps --tls-cert /nonexistent/ps.pem --tls-key " + files().server_key);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/ps.pem") != std::string::npos);
  r = run_pgc("ps --tls-cert " + files().server_cert + " --tls-key " + files().client_key);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("does not match") != std::string::npos);
  r = run_pgc("worker --connect 127.0.0.1:1 --chunks 2 --tls-cert " + files().client_cert +
              " --tls-key " + files().client_key);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--tls-ca") != std::string::npos);
  r = run_pgc("worker --connect 127.0.0.1:1 --chunks 2 --tls-ca /nonexistent/ca.pem");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/ca.pem") != std::string::npos);
  r = run_pgc("launch --workers 2 --load 2 --tls-cert " + files().server_cert + " --tls-key " +
              files().server_key);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--tls-ca") != std::string::npos);
}
