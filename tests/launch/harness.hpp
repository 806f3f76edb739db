#pragma once

// Runs a process_group on a test's own io_context with a bound, captures its output, and
// checks that no child was left behind.

#include <cerrno>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "pgc/launch/process_group.hpp"

namespace pgc::launch::test {

struct captured_output {
  std::vector<std::pair<std::string, std::string>> lines;

  line_sink sink() {
    return [this](std::string_view name, std::string_view line) {
      lines.emplace_back(std::string(name), std::string(line));
    };
  }

  std::vector<std::string> of(std::string_view name) const {
    std::vector<std::string> result;
    for (const auto& [who, line] : lines) {
      if (who == name) result.push_back(line);
    }
    return result;
  }

  // Position of the first line of `name` containing `text`, or lines.size().
  std::size_t index_of(std::string_view name, std::string_view text) const {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].first == name && lines[i].second.find(text) != std::string::npos) return i;
    }
    return lines.size();
  }
};

inline command sh(std::string name, std::string script, bool essential = true,
                  bool awaited = false) {
  return {std::move(name), {"/bin/sh", "-c", std::move(script)}, {}, essential, awaited};
}

// Runs group.run(...) for at most `bound`; fails the test if it did not finish.
inline group_summary run_group(boost::asio::io_context& io, process_group& group,
                               std::vector<command> initial,
                               std::optional<readiness_gate> gate = std::nullopt,
                               follow_up then = {},
                               std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  bool done = false;
  std::exception_ptr failure;
  std::optional<group_summary> result;
  boost::asio::co_spawn(io, group.run(std::move(initial), std::move(gate), std::move(then)),
                        [&](std::exception_ptr e, group_summary summary) {
                          done = true;
                          failure = e;
                          if (!e) result = std::move(summary);
                          io.stop();
                        });
  io.run_for(bound);
  REQUIRE_MESSAGE(done, "the group did not finish within its bound");
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

inline bool no_children_left() {
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline exit_status signaled(int sig) {
  return {exit_status::kind::signaled, sig};
}
inline exit_status exited(int code) {
  return {exit_status::kind::exited, code};
}

}  // namespace pgc::launch::test
