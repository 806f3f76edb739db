// How pgc ps tells supervisors and people that it is ready, and what it says when it cannot be.
#include <cstdio>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;
using pgc::test::slurp;

TEST_CASE("pgc launch finds its PS with the log quiet") {
  // --quiet drops the PS's "listening on" line: the supervisor reads the readiness pipe.
  const auto r = run_pgc("launch --workers 3 --load 2 --iterations 2 --dim 8 --verify --quiet");
  INFO(r.out);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("listening on") == std::string::npos);
  CHECK(r.out.find("2 iterations, max relative error") != std::string::npos);
}

TEST_CASE("pgc ps --ready-file writes the address it bound as one JSON line") {
  const std::string file = std::string(PGC_BINARY_DIR) + "/tests/ready.json";
  std::remove(file.c_str());
  // No worker comes: the PS stops at its signal, after the readiness line.
  run_pgc("ps --workers 1 --load 1 --iterations 1 --ready-file " + file +
          " & pid=$!; for i in $(seq 100); do [ -f " + file +
          " ] && break; sleep 0.1; done; kill $pid; wait $pid");
  const auto v = boost::json::parse(slurp(file)).as_object();
  const std::string listen(v.at("listen").as_string());
  CHECK(listen.rfind("127.0.0.1:", 0) == 0);
  CHECK(listen != "127.0.0.1:0");
  CHECK(v.at("dashboard").is_null());
  CHECK(v.at("pid").as_int64() > 0);
  std::remove(file.c_str());
}

TEST_CASE("pgc ps names the address it cannot listen on and exits with 2") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const auto r = run_pgc("ps --workers 1 --load 1 --listen " + address);
  ::close(fd);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot listen on " + address + ": Address already in use") !=
        std::string::npos);
}

TEST_CASE("pgc ps refuses unwritable output paths and negative counts before any work") {
  auto r = run_pgc("ps --summary /nonexistent/dir/run.json");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot write --summary file '/nonexistent/dir/run.json'") != std::string::npos);
  r = run_pgc("ps --iterations -1");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--iterations") != std::string::npos);
  r = run_pgc("worker --connect 127.0.0.1:1 --chunks 2 --threads 0");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--threads") != std::string::npos);
}
