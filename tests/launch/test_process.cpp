#include <algorithm>
#include <csignal>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "harness.hpp"
#include "pgc/core/error.hpp"
#include "pgc/launch/process.hpp"

namespace {

using namespace pgc::launch;
using namespace pgc::launch::test;

// Runs one process to its end on `io`; returns its status and collects its lines.
exit_status run_process(boost::asio::io_context& io, process& proc) {
  std::optional<exit_status> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, proc.run(), [&](std::exception_ptr e, exit_status status) {
    failure = e;
    result = status;
    io.stop();
  });
  io.run_for(std::chrono::seconds(10));
  REQUIRE_MESSAGE(result.has_value(), "the process did not finish within its bound");
  if (failure) std::rethrow_exception(failure);
  return *result;
}

}  // namespace

TEST_CASE("a process streams stdout and stderr lines and reports its exit code") {
  boost::asio::io_context io;
  std::vector<std::string> lines;
  process proc(io.get_executor(),
               {"p", {"/bin/sh", "-c", "echo out; echo err >&2; printf 'no newline'; exit 7"}, {}},
               [&](std::string_view line) { lines.emplace_back(line); });
  CHECK(proc.pid() > 0);
  CHECK(proc.name() == "p");
  CHECK(run_process(io, proc) == exited(7));
  CHECK(proc.status() == exited(7));
  CHECK_FALSE(proc.running());
  std::sort(lines.begin(), lines.end());
  CHECK(lines == std::vector<std::string>{"err", "no newline", "out"});
  CHECK(no_children_left());
}

TEST_CASE("a process sees the extra environment and a PATH lookup") {
  boost::asio::io_context io;
  std::vector<std::string> lines;
  process proc(io.get_executor(), {"p", {"sh", "-c", "echo \"$PGC_X\""}, {{"PGC_X", "42"}}},
               [&](std::string_view line) { lines.emplace_back(line); });
  CHECK(run_process(io, proc) == exited(0));
  CHECK(lines == std::vector<std::string>{"42"});
}

TEST_CASE("a process killed by a signal reports the signal") {
  boost::asio::io_context io;
  process proc(io.get_executor(), {"p", {"/bin/sh", "-c", "kill -KILL $$"}, {}},
               [](std::string_view) {});
  const auto status = run_process(io, proc);
  CHECK(status == signaled(SIGKILL));
  CHECK(status.describe() == "signal SIGKILL");
}

TEST_CASE("a missing executable gives an error that names it") {
  boost::asio::io_context io;
  const auto nothing = [](std::string_view) {};
  CHECK_THROWS_WITH_AS(process(io.get_executor(), {"w3", {"pgc-no-such-program"}, {}}, nothing),
                       doctest::Contains("pgc-no-such-program"), pgc::core::input_error);
  CHECK_THROWS_WITH_AS(process(io.get_executor(), {"w3", {"/nonexistent/pgc-prog"}, {}}, nothing),
                       doctest::Contains("cannot execute /nonexistent/pgc-prog"),
                       pgc::core::input_error);
  CHECK_THROWS_AS(process(io.get_executor(), {"w3", {}, {}}, nothing), pgc::core::input_error);
  CHECK(no_children_left());
}

TEST_CASE("a very long line is split into bounded pieces") {
  boost::asio::io_context io;
  std::vector<std::string> lines;
  process_limits limits;
  limits.max_line = 4096;
  process proc(
      io.get_executor(),
      {"p", {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo end"}, {}},
      [&](std::string_view line) { lines.emplace_back(line); }, limits);
  CHECK(run_process(io, proc) == exited(0));
  REQUIRE(lines.size() == 26);
  std::size_t total = 0;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    CHECK(lines[i].size() <= 4096);
    CHECK(lines[i].find_first_not_of('x') == std::string::npos);
    total += lines[i].size();
  }
  CHECK(total == 100000);
  CHECK(lines.back() == "end");
}
