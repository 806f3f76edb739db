#include "pgc/core/logger.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

#include <unistd.h>

namespace pgc::core {

namespace {

constexpr std::array<std::pair<std::string_view, log_level>, 5> k_names{{
    {"debug", log_level::debug},
    {"info", log_level::info},
    {"warn", log_level::warn},
    {"error", log_level::error},
    {"off", log_level::off},
}};

}  // namespace

std::span<const std::pair<std::string_view, log_level>> log_level_names() noexcept {
  return k_names;
}

std::string_view to_string(log_level level) noexcept {
  for (const auto& [name, l] : k_names)
    if (l == level) return name;
  return "?";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (const auto& [name, l] : k_names)
    if (name == text) return l;
  return std::nullopt;
}

logger::logger(log_sink sink, log_level threshold, std::string prefix)
    : sink_(std::move(sink)), threshold_(threshold), prefix_(std::move(prefix)) {
  if (!prefix_.empty()) prefix_ += ": ";
}

logger logger::child(std::string_view prefix) const {
  logger out = *this;
  out.prefix_ = prefix_ + std::string(prefix) + ": ";
  return out;
}

void logger::log(log_level level, std::string_view text) const {
  if (!enabled(level)) return;
  std::string line = prefix_;
  line += text;
  if (sink_) {
    sink_(level, line);
  } else {
    stderr_sink(level, line);
  }
}

void stderr_sink(log_level level, std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  const std::size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03d", static_cast<int>(ms.count()) % 1000);
  std::string line(stamp, n);
  line += millis;
  line += ' ';
  static constexpr std::array<std::string_view, 5> k_tags{"DEBUG", "INFO ", "WARN ", "ERROR", "OFF  "};
  line += k_tags[static_cast<std::size_t>(level)];
  line += ' ';
  line += text;
  line += '\n';
  // One write per line: lines of several threads never interleave.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace pgc::core
