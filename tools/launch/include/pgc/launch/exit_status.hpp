#pragma once

#include <string>

namespace pgc::launch {

// How a child ended: its exit code, or the signal that killed it.
struct exit_status {
  enum class kind { exited, signaled };

  kind how = kind::exited;
  int value = 0;  // the exit code or the signal number

  static exit_status from_wait_status(int wait_status) noexcept;

  bool success() const noexcept { return how == kind::exited && value == 0; }
  bool operator==(const exit_status&) const = default;
  // "exit code 3", "signal SIGTERM".
  std::string describe() const;
};

// "SIGTERM" for the common signals, "signal 42" otherwise.
std::string signal_name(int sig);

}  // namespace pgc::launch
