#pragma once

// One small logger for every node and tool: a level, a node prefix and a sink. The default sink
// writes "2026-12-02 16:41:51.123 INFO  [ps] text" to stderr, one write per line, so lines of
// threads and of the processes `pgc launch` multiplexes never interleave within a line.
//
// Our own thin type rather than spdlog: the node classes take a sink from the service that
// embeds them (its own logging), so what crosses the public API is (level, text) and a prefix,
// not a logging framework; the default sink is twenty lines.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pgc::core {

enum class log_level { debug, info, warn, error, off };

// The one name table of log_level: "debug", "info", "warn", "error", "off".
std::span<const std::pair<std::string_view, log_level>> log_level_names() noexcept;
std::string_view to_string(log_level level) noexcept;
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

// Receives every line at or above the logger's level: the level and the text with its prefix
// ("ps: worker 3 joined"). Called on the thread that logs; must be thread-safe if the logger is
// used from several threads (the default sink is).
using log_sink = std::function<void(log_level, std::string_view)>;

class logger {
 public:
  // Info and above to stderr, no prefix.
  logger() = default;
  explicit logger(log_sink sink, log_level threshold = log_level::info, std::string prefix = {});

  // The same sink and level with "prefix: " in front of this logger's prefix ("ps", "w3").
  logger child(std::string_view prefix) const;

  bool enabled(log_level level) const noexcept { return level >= threshold_ && level != log_level::off; }
  log_level level() const noexcept { return threshold_; }
  void log(log_level level, std::string_view text) const;
  void debug(std::string_view text) const { log(log_level::debug, text); }
  void info(std::string_view text) const { log(log_level::info, text); }
  void warn(std::string_view text) const { log(log_level::warn, text); }
  void error(std::string_view text) const { log(log_level::error, text); }

 private:
  log_sink sink_;  // empty: stderr_sink
  log_level threshold_ = log_level::info;
  std::string prefix_;  // "" or "ps: "
};

// "YYYY-MM-DD HH:MM:SS.mmm LEVEL text" (UTC) to stderr in one write.
void stderr_sink(log_level level, std::string_view text);

}  // namespace pgc::core
