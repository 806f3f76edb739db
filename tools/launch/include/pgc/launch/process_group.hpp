#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pgc/launch/exit_status.hpp"
#include "pgc/launch/process.hpp"

namespace pgc::launch {

struct command {
  std::string name;                                      // unique within the group: "ps", "w3"
  std::vector<std::string> argv;                         // argv[0] looked up in PATH
  std::vector<std::pair<std::string, std::string>> env;  // extra environment
  bool essential = true;  // exiting with anything but 0 before the stop stops the group
  bool awaited = false;   // its exit, whatever the status, ends the run (the PS)
  // >= 3: a pipe on this descriptor of the child carries machine-readable lines (process_spec);
  // they open a readiness gate on this command and never reach the sink.
  int ready_fd = -1;
};

// Holds back the follow-up commands until `process` is ready: for a command with a ready_fd,
// when it writes a line containing `substring` (empty: any line) there; otherwise when it
// prints such a line on its output.
struct readiness_gate {
  std::string process;
  std::string substring;
  std::chrono::milliseconds timeout{10000};
};

// Builds the commands to start once the gate opens from the line that opened it, e.g. to
// hand the PS's actual port to the workers. Throwing stops the group with start_failed.
using follow_up = std::function<std::vector<command>(const std::string& ready_line)>;

// Receives every output line with the name of the process that wrote it.
using line_sink = std::function<void(std::string_view name, std::string_view line)>;

struct group_options {
  std::chrono::milliseconds grace{3000};  // between SIGTERM and SIGKILL when stopping
  bool handle_signals = true;             // SIGINT and SIGTERM to us stop the group
  process_limits limits;
  line_sink sink;                    // default: prefix_writer on stdout
  std::string self_name = "launch";  // the name under which the group logs its own notes
};

enum class stop_reason {
  all_exited,         // nothing awaited and every process ended
  awaited_exited,     // the awaited process ended
  essential_failed,   // an essential process exited with a failure
  signal,             // SIGINT or SIGTERM reached the supervisor
  readiness_timeout,  // the gate did not open in time
  not_ready,          // the gate's process ended before it opened
  start_failed,       // a command could not be started or the follow-up threw
};
std::string_view to_string(stop_reason reason) noexcept;

struct process_result {
  std::string name;
  pid_t pid = -1;
  std::optional<exit_status> status;  // empty only if it could not be reaped
  bool essential = true;
  bool awaited = false;
  bool stopped = false;  // still running when the stop began, so its status is ours
};

struct group_summary {
  std::vector<process_result> processes;  // in start order
  stop_reason reason = stop_reason::all_exited;
  std::string trigger;  // the process or signal that caused the stop, empty for all_exited
  std::string message;  // one line for a human
  int signal = 0;       // for stop_reason::signal

  // 0 when the awaited process (or, with none awaited, every process) ended well and no
  // essential process failed on its own; 128 + signal after a signal; 1 otherwise.
  int exit_code() const noexcept;
  const process_result* find(std::string_view name) const noexcept;
};

// The supervisor: starts named commands, streams their output to the sink, and stops them
// all (SIGTERM to each process group, SIGKILL after the grace period) on a signal, on an
// essential failure, when the awaited process ends, or when the readiness gate fails.
// Single-threaded: everything runs on the given executor, which must not be multi-threaded.
class process_group {
 public:
  explicit process_group(boost::asio::any_io_executor executor, group_options options = {});
  // SIGKILLs and reaps children still running (only if run() did not finish).
  ~process_group();

  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;

  // Starts `initial` now and, with a gate, `then(ready_line)` once the gate opens. Completes
  // on the executor with the summary once every child has been reaped; the signal handlers
  // are gone by then. Throws core::input_error before starting anything for duplicate or empty
  // names or a gate naming no initial command; start failures are reported in the summary.
  // Call once. Not cancellable: a signal (or a child's exit) is the way to stop it.
  boost::asio::awaitable<group_summary> run(std::vector<command> initial,
                                            std::optional<readiness_gate> gate = std::nullopt,
                                            follow_up then = {});

 private:
  struct entry {
    command cmd;
    std::unique_ptr<process> proc;
    bool finished = false;
    bool stopped = false;
  };
  using clock = std::chrono::steady_clock;

  static void validate_(const std::vector<command>& commands, std::set<std::string>& names);
  void start_(command cmd);
  void start_all_(std::vector<command> commands);
  void evaluate_();
  void begin_stop_(stop_reason reason, std::string trigger, std::string message);
  void signal_running_(int sig);
  bool all_finished_() const noexcept;
  bool gate_pending_() const noexcept { return gate_ && !gate_open_; }
  void note_(std::string_view text);
  void notify_();
  void on_line_(const std::string& name, std::string_view line);
  void on_ready_line_(const std::string& name, std::string_view line);
  void offer_to_gate_(const std::string& name, std::string_view line);
  // What the gate waits for, for messages: "print \"listening on\"" or "signal readiness".
  std::string gate_event_() const;
  boost::asio::awaitable<void> wait_signals_();
  group_summary summary_();

  boost::asio::any_io_executor executor_;
  group_options options_;
  std::vector<entry> entries_;
  std::deque<std::size_t> finished_queue_;  // indices in the order their runs completed
  int outstanding_ = 0;                     // coroutines that still refer to *this
  boost::asio::steady_timer wake_;
  bool dirty_ = false;  // something happened since the main loop last looked
  std::optional<boost::asio::signal_set> signals_;
  int signal_count_ = 0;
  int last_signal_ = 0;
  int signals_at_stop_ = 0;

  std::optional<readiness_gate> gate_;
  follow_up then_;
  bool gate_open_ = false;
  bool gate_on_ready_fd_ = false;  // the gated command has a ready_fd
  std::optional<std::string> ready_line_;
  clock::time_point gate_deadline_;

  bool stopping_ = false;
  bool killed_ = false;
  clock::time_point kill_deadline_;
  stop_reason reason_ = stop_reason::all_exited;
  std::string trigger_;
  std::string message_;
  int stop_signal_ = 0;
};

}  // namespace pgc::launch
