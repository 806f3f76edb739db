#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <doctest/doctest.h>

#include "harness.hpp"
#include "pgc/core/error.hpp"
#include "pgc/launch/process_group.hpp"

namespace {

using namespace pgc::launch;
using namespace pgc::launch::test;
using namespace std::chrono_literals;

group_options quick_options(captured_output& out, std::chrono::milliseconds grace = 2000ms) {
  group_options options;
  options.grace = grace;
  options.sink = out.sink();
  return options;
}

// Sends `sig` to this very process after `delay`, as a terminal Ctrl-C would.
void raise_after(boost::asio::steady_timer& timer, std::chrono::milliseconds delay, int sig) {
  timer.expires_after(delay);
  timer.async_wait([sig](boost::system::error_code ec) {
    if (!ec) ::kill(::getpid(), sig);
  });
}

}  // namespace

TEST_CASE("output of several children arrives as whole prefixed lines") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  // Each line is written in three pieces, so whole lines come only from the splitter.
  const std::string script =
      "i=0; while [ $i -lt 200 ]; do printf \"$0 \"; printf 'line '; printf \"$i\\n\"; "
      "i=$((i+1)); done; printf 'tail'";
  std::vector<command> commands;
  for (const std::string name : {"w0", "w1", "w2"}) {
    commands.push_back({name, {"/bin/sh", "-c", script, name}, {}, true, false});
  }
  const auto summary = run_group(io, group, std::move(commands));
  CHECK(summary.reason == stop_reason::all_exited);
  CHECK(summary.exit_code() == 0);
  for (const std::string name : {"w0", "w1", "w2"}) {
    const auto lines = out.of(name);
    REQUIRE(lines.size() == 201);
    for (int i = 0; i < 200; ++i)
      CHECK(lines[i] == name + " line " + std::to_string(i));
    CHECK(lines.back() == "tail");
  }
  CHECK(no_children_left());
}

TEST_CASE("the awaited process ending stops the others quickly") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out, 2000ms));
  const auto start = std::chrono::steady_clock::now();
  const auto summary = run_group(io, group,
                                 {sh("ps", "sleep 0.2; echo bye", true, true),
                                  sh("w0", "sleep 100"), sh("w1", "exec sleep 100")});
  CHECK(seconds_since(start) < 1.5);  // well under the 2 s grace period
  CHECK(summary.reason == stop_reason::awaited_exited);
  CHECK(summary.trigger == "ps");
  CHECK(summary.exit_code() == 0);
  CHECK(summary.find("ps")->status == exited(0));
  CHECK_FALSE(summary.find("ps")->stopped);
  for (const std::string name : {"w0", "w1"}) {
    CHECK(summary.find(name)->status == signaled(SIGTERM));
    CHECK(summary.find(name)->stopped);
  }
  CHECK(out.of("ps") == std::vector<std::string>{"bye"});
  CHECK(no_children_left());
}

TEST_CASE("a child that ignores SIGTERM is killed after the grace period") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out, 300ms));
  const auto start = std::chrono::steady_clock::now();
  const auto summary = run_group(
      io, group, {sh("ps", "sleep 0.2", true, true), sh("w0", "trap '' TERM; sleep 100")});
  const auto elapsed = seconds_since(start);
  CHECK(elapsed >= 0.45);  // 0.2 s run + 0.3 s grace
  CHECK(elapsed < 2.0);
  CHECK(summary.find("w0")->status == signaled(SIGKILL));
  CHECK(summary.exit_code() == 0);  // being stopped by us is not a failure
  CHECK(no_children_left());
}

TEST_CASE("an essential child failing with exit 3 stops the group and is named") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  const auto summary = run_group(io, group,
                                 {sh("ps", "sleep 100", true, true), sh("w0", "sleep 100"),
                                  sh("w1", "sleep 0.1; exit 3"), sh("w2", "exit 5", false)});
  CHECK(summary.reason == stop_reason::essential_failed);
  CHECK(summary.trigger == "w1");
  CHECK(summary.message.find("exit code 3") != std::string::npos);
  CHECK(summary.find("w1")->status == exited(3));
  CHECK(summary.find("w2")->status == exited(5));  // not essential: noted only
  CHECK(summary.find("ps")->status == signaled(SIGTERM));
  CHECK(summary.exit_code() == 1);
  CHECK(no_children_left());
}

TEST_CASE("a missing executable in the group stops the started children with a clear error") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  const auto summary = run_group(io, group,
                                 {sh("ps", "sleep 100", true, true),
                                  {"w0", {"pgc-no-such-program"}, {}, true, false},
                                  sh("w1", "sleep 100")});
  CHECK(summary.reason == stop_reason::start_failed);
  CHECK(summary.trigger == "w0");
  CHECK(summary.message.find("pgc-no-such-program") != std::string::npos);
  CHECK(summary.processes.size() == 1);  // w1 was never started
  CHECK(summary.find("ps")->status == signaled(SIGTERM));
  CHECK(summary.exit_code() == 1);
  CHECK(no_children_left());
}

TEST_CASE("bad commands are rejected before anything starts") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  CHECK_THROWS_AS(run_group(io, group, {sh("w0", "true"), sh("w0", "true")}),
                  pgc::core::input_error);
  CHECK(no_children_left());
}

TEST_CASE("workers start only after the readiness line and the callback receives it") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  std::string received;
  const auto workers = [&](const std::string& line) {
    received = line;
    const auto port = line.substr(line.rfind(':') + 1);
    std::vector<command> result;
    for (const std::string name : {"w0", "w1"}) {
      result.push_back({name, {"/bin/sh", "-c", "echo \"connect $0\"", port}, {}, true, false});
    }
    return result;
  };
  const auto summary =
      run_group(io, group,
                {sh("ps", "echo starting; sleep 0.2; echo 'listening on 127.0.0.1:4567'; sleep 0.3",
                    true, true)},
                readiness_gate{"ps", "listening on", 2000ms}, workers);
  CHECK(received == "listening on 127.0.0.1:4567");
  CHECK(summary.reason == stop_reason::awaited_exited);
  CHECK(summary.exit_code() == 0);
  const auto ready_at = out.index_of("ps", "listening on");
  REQUIRE(ready_at < out.lines.size());
  for (const std::string name : {"w0", "w1"}) {
    CHECK(out.of(name) == std::vector<std::string>{"connect 4567"});
    CHECK(out.index_of(name, "connect") > ready_at);
    CHECK(summary.find(name)->status == exited(0));
  }
  CHECK(no_children_left());
}

TEST_CASE(
    "a gate on a ready descriptor opens on the line written there and keeps it out of the log") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  std::string received;
  const auto workers = [&](const std::string& line) {
    received = line;
    return std::vector<command>{sh("w0", "echo started")};
  };
  // "listening on" in the output does not open this gate: only the line on descriptor 3 does.
  command ps = sh("ps",
                  "echo 'listening on 127.0.0.1:1'; sleep 0.2; "
                  "echo '{\"listen\":\"127.0.0.1:4567\"}' >&3; sleep 0.3",
                  true, true);
  ps.ready_fd = 3;
  const auto summary = run_group(io, group, {ps}, readiness_gate{"ps", "", 2000ms}, workers);
  CHECK(received == "{\"listen\":\"127.0.0.1:4567\"}");
  CHECK(summary.reason == stop_reason::awaited_exited);
  CHECK(summary.exit_code() == 0);
  CHECK(out.of("ps") == std::vector<std::string>{"listening on 127.0.0.1:1"});
  CHECK(out.of("w0") == std::vector<std::string>{"started"});
  CHECK(no_children_left());
}

TEST_CASE("a process with a ready descriptor that never writes to it times out the gate") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  command ps = sh("ps", "echo 'listening on 127.0.0.1:1'; sleep 100", true, true);
  ps.ready_fd = 3;
  const auto summary = run_group(io, group, {ps}, readiness_gate{"ps", "", 300ms},
                                 [](const std::string&) { return std::vector<command>{}; });
  CHECK(summary.reason == stop_reason::readiness_timeout);
  CHECK(summary.message == "ps did not signal readiness within 300 ms");
  CHECK(no_children_left());
}

TEST_CASE("a readiness timeout gives a clear error and kills the started children") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  bool called = false;
  const auto start = std::chrono::steady_clock::now();
  const auto summary =
      run_group(io, group, {sh("ps", "echo booting; sleep 100", true, true)},
                readiness_gate{"ps", "listening on", 300ms}, [&](const std::string&) {
                  called = true;
                  return std::vector<command>{};
                });
  CHECK(seconds_since(start) < 2.0);
  CHECK_FALSE(called);
  CHECK(summary.reason == stop_reason::readiness_timeout);
  CHECK(summary.message == "ps did not print \"listening on\" within 300 ms");
  CHECK(summary.find("ps")->status == signaled(SIGTERM));
  CHECK(summary.exit_code() == 1);
  CHECK(no_children_left());
}

TEST_CASE("a gate process that ends before it is ready stops the group") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  const auto summary =
      run_group(io, group, {sh("ps", "echo 'bind: address in use'; exit 0", true, true)},
                readiness_gate{"ps", "listening on", 5000ms}, {});
  CHECK(summary.reason == stop_reason::not_ready);
  CHECK(summary.exit_code() == 1);
  CHECK(no_children_left());
}

TEST_CASE("SIGINT to the supervisor stops everything and reports it") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out));
  boost::asio::steady_timer timer(io);
  raise_after(timer, 200ms, SIGINT);
  const auto start = std::chrono::steady_clock::now();
  const auto summary = run_group(
      io, group, {sh("ps", "sleep 100", true, true), sh("w0", "sleep 100"), sh("w1", "sleep 100")});
  CHECK(seconds_since(start) < 1.5);
  CHECK(summary.reason == stop_reason::signal);
  CHECK(summary.trigger == "SIGINT");
  CHECK(summary.exit_code() == 130);
  for (const auto& p : summary.processes)
    CHECK(p.status == signaled(SIGTERM));
  CHECK(out.index_of("launch", "received SIGINT") < out.lines.size());
  CHECK(no_children_left());
}

TEST_CASE("a second SIGINT kills the children without waiting for the grace period") {
  boost::asio::io_context io;
  captured_output out;
  process_group group(io.get_executor(), quick_options(out, 5000ms));
  boost::asio::steady_timer first(io);
  boost::asio::steady_timer second(io);
  raise_after(first, 200ms, SIGINT);
  raise_after(second, 400ms, SIGINT);
  const auto start = std::chrono::steady_clock::now();
  const auto summary = run_group(io, group, {sh("ps", "trap '' TERM; sleep 100", true, true)});
  CHECK(seconds_since(start) < 2.0);
  CHECK(summary.reason == stop_reason::signal);
  CHECK(summary.find("ps")->status == signaled(SIGKILL));
  CHECK(no_children_left());
}
