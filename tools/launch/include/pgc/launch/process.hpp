#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pgc/launch/exit_status.hpp"
#include "pgc/launch/line_splitter.hpp"

namespace pgc::launch {

// What to run: argv[0] is looked up in PATH unless it contains a '/'.
struct process_spec {
  std::string name;                                      // for messages and log prefixes
  std::vector<std::string> argv;                         // non-empty
  std::vector<std::pair<std::string, std::string>> env;  // added to (or overriding) ours
  // >= 3: the child's descriptor of that number is the write end of a pipe whose lines go to
  // the process's ready handler instead of the output (a machine-readable channel, e.g. the
  // PS's readiness line for `pgc ps --ready-fd 3`). -1: none.
  int ready_fd = -1;
};

struct process_limits {
  std::chrono::milliseconds poll_interval{10};    // how often waitpid(WNOHANG) is tried
  std::chrono::milliseconds drain_timeout{1000};  // output still accepted after the exit
  std::size_t max_line = line_splitter::k_default_max_line;
};

// One child process: stdin from /dev/null, stdout and stderr to pipes read on the caller's
// executor, in its own process group (so a terminal Ctrl-C reaches only the supervisor, and a
// signal reaches the child's own children too), and killed by the kernel if the thread that
// started it dies (PR_SET_PDEATHSIG on Linux). Reaped by polling waitpid(pid, WNOHANG) on a
// timer: never blocks the io thread and never touches other children of this process.
class process {
 public:
  using line_handler = std::function<void(std::string_view line)>;

  // Starts the child at once. Throws core::input_error naming the executable if argv is empty,
  // the executable is not in PATH or cannot be executed; std::system_error if the OS refuses
  // (no pipes, no fork). `on_line` gets every whole line of stdout and stderr, `on_ready` every
  // line written to spec.ready_fd, both on the executor.
  process(boost::asio::any_io_executor executor, process_spec spec, line_handler on_line,
          process_limits limits = {}, line_handler on_ready = {});
  // Last resort for a child still running: SIGKILL to its group and a blocking reap.
  ~process();

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  const std::string& name() const noexcept { return spec_.name; }
  // Set once the child has been reaped.
  const std::optional<exit_status>& status() const noexcept { return status_; }
  bool running() const noexcept { return !status_.has_value(); }

  // Sends `sig` to the child's process group; does nothing once the child has been reaped.
  void signal(int sig) noexcept;

  // Streams the output to on_line until both pipes close (at most drain_timeout after the exit;
  // then the pipes are closed and a partial last line is flushed) and reaps the child.
  // Completes on the executor with the exit status. Call once. Not cancellable: end the child
  // with signal(). After the leader exits its process group gets SIGKILL so that leftover
  // grandchildren neither linger nor hold the pipes open.
  boost::asio::awaitable<exit_status> run();

 private:
  boost::asio::awaitable<void> pump_(boost::asio::posix::stream_descriptor& pipe,
                                     line_splitter& splitter, const line_handler& deliver);
  boost::asio::awaitable<exit_status> reap_();

  process_spec spec_;
  line_handler on_line_;
  line_handler on_ready_;
  process_limits limits_;
  pid_t pid_ = -1;
  std::optional<exit_status> status_;
  int open_pipes_ = 2;
  boost::asio::posix::stream_descriptor out_;
  boost::asio::posix::stream_descriptor err_;
  boost::asio::posix::stream_descriptor ready_;  // open only with spec.ready_fd
  line_splitter out_lines_;
  line_splitter err_lines_;
  line_splitter ready_lines_;
  boost::asio::steady_timer poll_timer_;
};

}  // namespace pgc::launch
