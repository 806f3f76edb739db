#include "pgc/launch/exit_status.hpp"

#include <csignal>
#include <sys/wait.h>

namespace pgc::launch {

exit_status exit_status::from_wait_status(int wait_status) noexcept {
  if (WIFSIGNALED(wait_status)) return {kind::signaled, WTERMSIG(wait_status)};
  return {kind::exited, WEXITSTATUS(wait_status)};
}

std::string exit_status::describe() const {
  if (how == kind::signaled) return "signal " + signal_name(value);
  return "exit code " + std::to_string(value);
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "signal " + std::to_string(sig);
  }
}

}  // namespace pgc::launch
