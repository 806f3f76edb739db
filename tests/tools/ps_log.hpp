#pragma once

// What the tests learn from a running `pgc ps`: where it listens and serves its dashboard, and
// which workers it admitted. The one place that reads the PS's output for these, so that a
// machine-readable readiness signal or a new log layout (timestamp, level, rank prefix) is a
// change here only. Lines are matched by substrings, never by their start.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "child_process.hpp"

namespace pgc::test {

inline std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// Whether `line` names `name` as a whole word (not "w1" inside "w10").
inline bool names(std::string_view line, std::string_view name) {
  const auto part_of_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
  };
  for (auto at = line.find(name); at != std::string_view::npos; at = line.find(name, at + 1)) {
    const bool starts = at == 0 || !part_of_name(line[at - 1]);
    const auto after = at + name.size();
    const bool ends = after == line.size() || !part_of_name(line[after]);
    if (starts && ends) return true;
  }
  return false;
}

// Lines of `log` that contain `text` and, when `name` is not empty, name that worker.
inline int count_lines(std::string_view log, std::string_view text, std::string_view name = {}) {
  const auto lines = lines_of(log);
  return static_cast<int>(std::count_if(lines.begin(), lines.end(), [&](std::string_view line) {
    return line.find(text) != std::string_view::npos && (name.empty() || names(line, name));
  }));
}

// Admissions the PS logged ("worker K 'NAME' joined from HOST:PORT"), of `name` or of anyone.
inline int admissions(std::string_view ps_log, std::string_view name = {}) {
  return count_lines(ps_log, "joined from", name);
}

// The slot (worker id K) of the last admission of `name`, if any.
inline std::optional<int> admitted_slot(std::string_view ps_log, std::string_view name) {
  std::optional<int> slot;
  for (const auto line : lines_of(ps_log)) {
    const auto joined = line.find("joined from");
    if (joined == std::string_view::npos || !names(line, name)) continue;
    const auto worker = line.rfind("worker ", joined);
    if (worker == std::string_view::npos) continue;
    auto at = worker + 7;
    int id = 0;
    bool digits = false;
    for (; at < line.size() && std::isdigit(static_cast<unsigned char>(line[at])) != 0; ++at) {
      id = id * 10 + (line[at] - '0');
      digits = true;
    }
    if (digits) slot = id;
  }
  return slot;
}

namespace detail {

// "...KEY HOST:PORT..." -> PORT (digits after the last ':' of the address).
inline std::string port_after(const std::string& output, const std::string& key) {
  const auto at = output.find(key);
  REQUIRE_MESSAGE(at != std::string::npos, "no '" << key << "' in: " << output);
  const auto begin = at + key.size();
  const auto address = output.substr(begin, output.find_first_of(" /\n", begin) - begin);
  const auto colon = address.rfind(':');
  REQUIRE_MESSAGE(colon != std::string::npos, "no port in '" << address << "'");
  return address.substr(colon + 1);
}

}  // namespace detail

// Waits (up to `timeout`) until the PS says where it listens ("listening on HOST:PORT"); the
// port. Fails the test when the PS ends or stays silent.
inline std::string ps_port(child_process& ps,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  REQUIRE_MESSAGE(ps.wait_for_output("listening on ", timeout),
                  "the PS did not say where it listens: " << ps.output());
  return detail::port_after(ps.output(), "listening on ");
}

// The port of the PS's dashboard ("dashboard on http://HOST:PORT/"), printed with the address.
inline std::string dashboard_port(child_process& ps,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  REQUIRE_MESSAGE(ps.wait_for_output("dashboard on http://", timeout),
                  "the PS did not say where its dashboard is: " << ps.output());
  return detail::port_after(ps.output(), "dashboard on http://");
}

}  // namespace pgc::test
