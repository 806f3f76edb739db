#pragma once

// A pgc process the test starts, signals (SIGKILL, SIGSTOP, SIGCONT) and waits for, with its
// output in a file the test can poll while it runs.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace pgc::test {

class child_process {
 public:
  // Runs PGC_EXE with `args`; stdout and stderr go to `log`, or stderr to `err_log` when given
  // (for a test that checks what the process says on stderr alone).
  child_process(const std::vector<std::string>& args, std::string log, std::string err_log = {})
      : log_(std::move(log)), err_log_(std::move(err_log)) {
    std::vector<std::string> argv{PGC_EXE};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err_log_.empty()) {
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
      posix_spawn_file_actions_addopen(&fa, 2, err_log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644);
    }
    const int rc = posix_spawn(&pid_, raw[0], &fa, nullptr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn failed for " + argv[0]);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  void signal(int sig) const {
    if (exit_code_ == not_reaped) ::kill(pid_, sig);
  }
  bool running() {
    if (exit_code_ != not_reaped) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = decode(status);
      return false;
    }
    return true;
  }
  // Blocks; the exit code, or 128 + signal number.
  int wait() {
    if (exit_code_ == not_reaped) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = decode(status);
    }
    return exit_code_;
  }
  // Waits up to `timeout` for the process to end; kills it and returns -1 when it does not.
  int wait_for(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        wait();
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }
  std::string output() const { return read(log_); }
  // What went to stderr, when it has its own file; else the same as output().
  std::string errors() const { return read(err_log_.empty() ? log_ : err_log_); }
  // Polls the output until it contains `text`; false after `timeout` or when the process ended.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    return wait_for_output_if(
        [&](const std::string& out) { return out.find(text) != std::string::npos; }, timeout);
  }
  // Polls the output until `done(output)` holds; false after `timeout` or when the process ended
  // without it.
  bool wait_for_output_if(const std::function<bool(const std::string&)>& done,
                          std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (done(output())) return true;
      if (!running()) return done(output());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  pid_t pid() const noexcept { return pid_; }

 private:
  static constexpr int not_reaped = -1000;
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static int decode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

  std::string log_;
  std::string err_log_;
  pid_t pid_ = -1;
  int exit_code_ = not_reaped;
};

}  // namespace pgc::test
