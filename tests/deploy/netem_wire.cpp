// A user-space stand-in for `tc qdisc ... netem delay D loss P` on kernels built without
// sch_netem: a wire between two TAP devices (each possibly in its own network namespace) that
// forwards Ethernet frames both ways after a fixed delay (plus optional jitter) and drops each
// frame with probability P, drawn from a seeded generator. It prints the counts when it ends
// (SIGTERM, SIGINT, or a device gone), so a test can check that frames were really dropped and
// delayed.
//
//   netem_wire [--delay-ms D] [--jitter-ms J] [--loss-percent P] [--seed S] [--limit FRAMES]
//              A B
//
// A and B are NS:DEV (the TAP device DEV in the namespace /var/run/netns/NS, or in the
// namespace file NS when it holds a '/') or DEV (this process's namespace). An existing
// persistent TAP (`ip tuntap add dev DEV mode tap`) is attached; otherwise the device is
// created and disappears with the process. A TAP has carrier only while a process holds it,
// so traffic flows once "netem_wire: ready" is printed.
//
// Differences from netem: frames of one direction stay in order (a jittered frame is never
// sent before the one ahead of it, as netem does with a rate), and the queue holds at most
// --limit frames per direction (netem's limit, default 1000; here 10000), frames beyond it are
// counted as overflow. Delays are honoured to within the scheduler's wake-up latency (ppoll's
// nanosecond timeout); the hold times printed at the end are measured, not assumed.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <limits>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <optional>
#include <poll.h>
#include <random>
#include <sched.h>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

volatile sig_atomic_t stop_requested = 0;

extern "C" void on_stop_signal(int) {
  stop_requested = 1;
}

struct options {
  double delay_ms = 0;
  double jitter_ms = 0;
  double loss = 0;  // probability, from --loss-percent
  std::uint64_t seed = 1;
  std::size_t limit = 10000;
  std::array<std::string, 2> ends;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "netem_wire: %s\nusage: netem_wire [--delay-ms D] [--jitter-ms J] "
               "[--loss-percent P] [--seed S] [--limit FRAMES] [NS:]DEV [NS:]DEV\n",
               why.c_str());
  std::exit(2);
}

double parse_number(const char* flag, const char* text, double low, double high) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= low && v <= high)) {
    char range[64];
    std::snprintf(range, sizeof range, "[%g, %g]", low, high);
    usage(std::string(flag) + " '" + text + "' is not a number in " + range);
  }
  return v;
}

options parse(int argc, char** argv) {
  options o;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--delay-ms") {
      o.delay_ms = parse_number("--delay-ms", value(), 0, 60000);
    } else if (a == "--jitter-ms") {
      o.jitter_ms = parse_number("--jitter-ms", value(), 0, 60000);
    } else if (a == "--loss-percent") {
      o.loss = parse_number("--loss-percent", value(), 0, 100) / 100;
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint64_t>(parse_number("--seed", value(), 0, 1e15));
    } else if (a == "--limit") {
      o.limit = static_cast<std::size_t>(parse_number("--limit", value(), 1, 1e7));
    } else if (a == "-h" || a == "--help") {
      usage("a user-space netem between two TAP devices");
    } else if (!a.empty() && a[0] == '-') {
      usage("unknown option " + a);
    } else {
      if (positional == 2) usage("more than two devices");
      o.ends[static_cast<std::size_t>(positional++)] = a;
    }
  }
  if (positional != 2) usage("two devices are needed");
  if (o.jitter_ms > o.delay_ms) usage("--jitter-ms must not exceed --delay-ms");
  return o;
}

// A file descriptor closed on scope exit.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard(fd_guard&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  fd_guard& operator=(fd_guard&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~fd_guard() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::runtime_error system_failure(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Opens the TAP device of `end` ([NS:]DEV). TUNSETIFF looks the name up in the calling thread's
// network namespace, so the thread enters NS for the call and returns to its own; the open
// descriptor keeps working from anywhere.
fd_guard open_tap(const std::string& end) {
  std::string ns;
  std::string dev = end;
  if (const auto colon = end.rfind(':'); colon != std::string::npos) {
    ns = end.substr(0, colon);
    dev = end.substr(colon + 1);
  }
  if (dev.empty() || dev.size() >= IFNAMSIZ)
    throw std::runtime_error("bad device name '" + dev + "'");
  fd_guard home;
  if (!ns.empty()) {
    home = fd_guard(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.get() < 0) throw system_failure("/proc/self/ns/net");
    const std::string path = ns.find('/') == std::string::npos ? "/var/run/netns/" + ns : ns;
    fd_guard target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (target.get() < 0) throw system_failure(path);
    if (::setns(target.get(), CLONE_NEWNET) != 0) throw system_failure("setns " + path);
  }
  fd_guard tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  const int open_errno = errno;
  int ioctl_errno = 0;
  if (tap.get() >= 0) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, dev.c_str(), dev.size() + 1);
    if (::ioctl(tap.get(), TUNSETIFF, &ifr) != 0) ioctl_errno = errno;
  }
  if (home.get() >= 0 && ::setns(home.get(), CLONE_NEWNET) != 0) {
    throw system_failure("returning to this process's namespace");
  }
  if (tap.get() < 0) {
    errno = open_errno;
    throw system_failure("/dev/net/tun");
  }
  if (ioctl_errno != 0) {
    errno = ioctl_errno;
    throw system_failure("TUNSETIFF " + end);
  }
  return tap;
}

struct held_frame {
  clock_type::time_point received;
  clock_type::time_point due;
  std::vector<std::uint8_t> bytes;
};

struct direction {
  std::string name;
  int from = -1;
  int to = -1;
  std::deque<held_frame> queue;
  clock_type::time_point last_due{};
  // Counts.
  std::uint64_t received = 0;
  std::uint64_t forwarded = 0;
  std::uint64_t dropped = 0;      // the loss probability
  std::uint64_t overflow = 0;     // the queue was full
  std::uint64_t undelivered = 0;  // the receiving device refused it (down) or the run ended
  std::uint64_t bytes = 0;
  double held_min_ms = std::numeric_limits<double>::infinity();
  double held_max_ms = 0;
  double held_sum_ms = 0;
};

class wire {
 public:
  explicit wire(const options& o) : opt_(o), rng_(o.seed) {}

  // Until a stop signal or a device error. Returns the exit code.
  int run(int a, int b) {
    dirs_[0].name = opt_.ends[0] + " -> " + opt_.ends[1];
    dirs_[0].from = a;
    dirs_[0].to = b;
    dirs_[1].name = opt_.ends[1] + " -> " + opt_.ends[0];
    dirs_[1].from = b;
    dirs_[1].to = a;
    // The stop signals are blocked except inside ppoll, so none is lost between the check of
    // the flag and the wait.
    sigset_t blocked;
    sigset_t during_wait;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, &during_wait);
    sigdelset(&during_wait, SIGTERM);
    sigdelset(&during_wait, SIGINT);
    std::vector<std::uint8_t> buffer(65536 + 64);
    int rc = 0;
    while (!stop_requested) {
      const auto now = clock_type::now();
      for (auto& d : dirs_)
        deliver_due(d, now);
      std::array<pollfd, 2> fds{{{a, POLLIN, 0}, {b, POLLIN, 0}}};
      timespec timeout{};
      timespec* timeout_ptr = nullptr;
      if (const auto next = next_due()) {
        const auto wait = std::max(clock_type::duration::zero(), *next - now);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
        timeout.tv_sec = static_cast<time_t>(ns / 1000000000);
        timeout.tv_nsec = static_cast<long>(ns % 1000000000);
        timeout_ptr = &timeout;
      }
      const int n = ::ppoll(fds.data(), fds.size(), timeout_ptr, &during_wait);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::fprintf(stderr, "netem_wire: ppoll: %s\n", std::strerror(errno));
        rc = 1;
        break;
      }
      bool device_gone = false;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) device_gone = true;
        if (fds[i].revents & POLLIN) {
          if (!take_frames(dirs_[i], buffer)) device_gone = true;
        }
      }
      if (device_gone) {
        std::fprintf(stderr, "netem_wire: a device went away\n");
        rc = 1;
        break;
      }
    }
    for (auto& d : dirs_) {
      d.undelivered += d.queue.size();
      d.queue.clear();
    }
    return rc;
  }

  void print_counts() const {
    std::uint64_t forwarded = 0;
    std::uint64_t dropped = 0;
    std::uint64_t received = 0;
    for (const auto& d : dirs_) {
      const double mean = d.forwarded ? d.held_sum_ms / static_cast<double>(d.forwarded) : 0;
      std::printf(
          "netem_wire: %s: received %llu, forwarded %llu (%llu bytes), dropped %llu, overflow "
          "%llu, undelivered %llu; held min %.3f mean %.3f max %.3f ms\n",
          d.name.c_str(), static_cast<unsigned long long>(d.received),
          static_cast<unsigned long long>(d.forwarded), static_cast<unsigned long long>(d.bytes),
          static_cast<unsigned long long>(d.dropped), static_cast<unsigned long long>(d.overflow),
          static_cast<unsigned long long>(d.undelivered), d.forwarded ? d.held_min_ms : 0.0, mean,
          d.held_max_ms);
      forwarded += d.forwarded;
      dropped += d.dropped;
      received += d.received;
    }
    std::printf(
        "netem_wire: total received %llu forwarded %llu dropped %llu (%.2f%%)\n",
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(forwarded),
        static_cast<unsigned long long>(dropped),
        received ? 100.0 * static_cast<double>(dropped) / static_cast<double>(received) : 0.0);
    std::fflush(stdout);
  }

 private:
  std::optional<clock_type::time_point> next_due() const {
    std::optional<clock_type::time_point> next;
    for (const auto& d : dirs_)
      if (!d.queue.empty() && (!next || d.queue.front().due < *next)) next = d.queue.front().due;
    return next;
  }

  // Reads the frames waiting on d.from, at most a batch, so that frames falling due are not held
  // back behind a long burst. False when the device is gone.
  bool take_frames(direction& d, std::vector<std::uint8_t>& buffer) {
    for (int batch = 0; batch < 64; ++batch) {
      const ssize_t n = ::read(d.from, buffer.data(), buffer.size());
      const auto now = clock_type::now();
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        if (errno == EINTR) continue;
        std::fprintf(stderr, "netem_wire: read (%s): %s\n", d.name.c_str(), std::strerror(errno));
        return false;
      }
      if (n == 0) return false;
      ++d.received;
      if (opt_.loss > 0 && loss_(rng_) < opt_.loss) {
        ++d.dropped;
        continue;
      }
      if (d.queue.size() >= opt_.limit) {
        ++d.overflow;
        continue;
      }
      double delay_ms = opt_.delay_ms;
      if (opt_.jitter_ms > 0) delay_ms += opt_.jitter_ms * (2 * loss_(rng_) - 1);
      auto due = now + std::chrono::duration_cast<clock_type::duration>(
                           std::chrono::duration<double, std::milli>(delay_ms));
      due = std::max(due, d.last_due);  // no overtaking within a direction
      d.last_due = due;
      d.queue.push_back({now, due, std::vector<std::uint8_t>(buffer.begin(), buffer.begin() + n)});
    }
    return true;
  }

  void deliver_due(direction& d, clock_type::time_point now) {
    while (!d.queue.empty() && d.queue.front().due <= now) {
      const auto& f = d.queue.front();
      const ssize_t n = ::write(d.to, f.bytes.data(), f.bytes.size());
      if (n == static_cast<ssize_t>(f.bytes.size())) {
        ++d.forwarded;
        d.bytes += f.bytes.size();
        const double held =
            std::chrono::duration<double, std::milli>(clock_type::now() - f.received).count();
        d.held_min_ms = std::min(d.held_min_ms, held);
        d.held_max_ms = std::max(d.held_max_ms, held);
        d.held_sum_ms += held;
      } else {
        // EIO while the receiving device is down: the frame is lost, as on a cut cable.
        ++d.undelivered;
      }
      d.queue.pop_front();
    }
  }

  options opt_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> loss_{0.0, 1.0};
  std::array<direction, 2> dirs_;
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  try {
    fd_guard a = open_tap(o.ends[0]);
    fd_guard b = open_tap(o.ends[1]);
    std::printf(
        "netem_wire: ready: %s <-> %s, delay %.3f ms, jitter %.3f ms, loss %.3f%%, seed %llu\n",
        o.ends[0].c_str(), o.ends[1].c_str(), o.delay_ms, o.jitter_ms, 100 * o.loss,
        static_cast<unsigned long long>(o.seed));
    std::fflush(stdout);
    wire w(o);
    const int rc = w.run(a.get(), b.get());
    w.print_counts();
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netem_wire: %s\n", e.what());
    return 1;
  }
}
