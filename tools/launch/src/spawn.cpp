#include "pgc/launch/detail/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include "pgc/core/error.hpp"

extern char** environ;

namespace pgc::launch::detail {

namespace {

// Owns a descriptor until released; keeps the error paths below free of leaks.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) noexcept : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

std::system_error os_error(const std::string& what) {
  return {errno, std::generic_category(), what};
}

void make_pipe(fd_guard& read_end, fd_guard& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw os_error("pipe2");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
}

std::vector<std::string> child_environment(const process_spec& spec) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto key = text.substr(0, text.find('='));
    bool overridden = false;
    for (const auto& [name, value] : spec.env)
      overridden = overridden || name == key;
    if (!overridden) result.emplace_back(text);
  }
  for (const auto& [name, value] : spec.env)
    result.push_back(name + "=" + value);
  return result;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings)
    result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, int devnull, int out, int err, int report, int ready,
                             int ready_target, const char* path, char* const* argv,
                             char* const* envp) {
  // The kernel SIGKILLs us when the parent (thread) dies; if it died before this call, leave.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  // `ready` and `report` lie above ready_target (see spawn_child), so this dup2 clobbers neither
  // and its result is inherited (dup2 clears close-on-exec).
  if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 ||
      (ready_target >= 0 && ::dup2(ready, ready_target) < 0)) {
    const int code = errno;
    [[maybe_unused]] auto ignored = ::write(report, &code, sizeof code);
    ::_exit(127);
  }
  ::execve(path, argv, envp);
  const int code = errno;
  [[maybe_unused]] auto ignored = ::write(report, &code, sizeof code);
  ::_exit(127);
}

}  // namespace

std::string find_executable(std::string_view file, std::string_view path_list) {
  if (file.find('/') != std::string_view::npos) return std::string(file);
  while (true) {
    const auto colon = path_list.find(':');
    auto dir = path_list.substr(0, colon);
    if (dir.empty()) dir = ".";  // POSIX: an empty PATH entry is the current directory
    std::string candidate(dir);
    candidate += '/';
    candidate += file;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    path_list.remove_prefix(colon + 1);
  }
}

spawned_child spawn_child(const process_spec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    throw core::input_error(spec.name + ": empty command line");
  }
  const char* path_env = std::getenv("PATH");
  const std::string path =
      find_executable(spec.argv.front(), path_env != nullptr ? path_env : "/usr/bin:/bin");
  if (path.empty()) {
    throw core::input_error(spec.name + ": executable not found in PATH: " + spec.argv.front());
  }

  auto argv_strings = spec.argv;
  auto argv = pointers(argv_strings);
  auto env_strings = child_environment(spec);
  auto envp = pointers(env_strings);

  fd_guard out_read, out_write, err_read, err_write, report_read, report_write;
  make_pipe(out_read, out_write);
  make_pipe(err_read, err_write);
  make_pipe(report_read, report_write);
  fd_guard devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.get() < 0) throw os_error("open /dev/null");
  fd_guard ready_read, ready_write;
  if (spec.ready_fd >= 0) {
    if (spec.ready_fd < 3) {
      throw core::input_error(spec.name + ": the ready descriptor must be 3 or above, not " +
                              std::to_string(spec.ready_fd));
    }
    make_pipe(ready_read, ready_write);
    // Above the target number, so that the child's dup2 onto it overwrites neither the ready
    // pipe nor the exec report pipe.
    const auto lift = [&](fd_guard& fd) {
      const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, spec.ready_fd + 1);
      if (moved < 0) throw os_error(spec.name + ": fcntl");
      fd.reset(moved);
    };
    lift(ready_write);
    lift(report_write);
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw os_error(spec.name + ": fork");
  if (pid == 0) {
    exec_child(parent, devnull.get(), out_write.get(), err_write.get(), report_write.get(),
               ready_write.get(), spec.ready_fd, path.c_str(), argv.data(), envp.data());
  }

  // Our copies of the write ends must go, or the reads below never see end-of-file.
  out_write.reset();
  err_write.reset();
  report_write.reset();
  ready_write.reset();
  int code = 0;
  ssize_t got = 0;
  do {
    got = ::read(report_read.get(), &code, sizeof code);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    // The exec failed and the child is exiting: reap it here, it cannot take long.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw core::input_error(spec.name + ": cannot execute " + spec.argv.front() + " (" + path +
                            "): " + std::strerror(code));
  }
  return {pid, out_read.release(), err_read.release(), ready_read.release()};
}

}  // namespace pgc::launch::detail
