#include "pgc/bench/memory_bench.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Core>
#include <boost/asio/io_context.hpp>

#include "pgc/coding/scheme.hpp"
#include "pgc/core/gradient_source.hpp"
#include "pgc/nodes/parameter_server.hpp"
#include "pgc/nodes/worker.hpp"

namespace pgc::bench {
namespace {

// A line of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 if missing.
long long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Workers' chunk gradients without data: the PS's memory does not depend on the values.
class constant_source final : public core::gradient_source {
 public:
  constant_source(int d, int chunks) : d_(d), chunks_(chunks) {}
  int dimension() const override { return d_; }
  int chunks() const override { return chunks_; }
  long samples() const override { return chunks_; }
  long chunk_samples(int) const override { return 1; }
  void gradient(int chunk, const Eigen::VectorXd&, Eigen::Ref<Eigen::VectorXd> out) const override {
    out.setConstant(1.0 + chunk);
  }
  double loss(const Eigen::VectorXd&) const override { return 0.0; }
  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Zero(d_); }

 private:
  int d_;
  int chunks_;
};

struct child_report {
  long long baseline_kib = -1;  // VmRSS before the server was built
  long long peak_kib = -1;      // VmHWM at the end (reset to the baseline first)
  // RssFile at the end minus before: the program's code (Asio, Cap'n Proto, Eigen) the server
  // ran for the first time, paged in from the executable. Part of VmHWM but not data: a few
  // MiB, whatever d is.
  long long code_kib = 0;
  int iterations = 0;
  char why[200] = {};
};

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes within `timeout_ms`; false on end of file, error or timeout.
bool read_all(int fd, void* data, std::size_t size, int timeout_ms) {
  auto* p = static_cast<char*>(data);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

nodes::scheme_spec spec_for(const bench_config& config, int ell) {
  nodes::scheme_spec spec;
  spec.kind = coding::scheme_kind::proposed;
  spec.workers = config.memory_workers;
  spec.load = config.memory_load;
  spec.ell = ell;
  spec.seed = 1;
  return spec;
}

// The child: a parameter server and nothing else. Writes its port, then the report; never
// returns (_exit, so nothing of the parent's state is torn down twice).
[[noreturn]] void ps_child(int fd, const bench_config& config, int ell) {
  child_report r;
  try {
    // Free heap pages inherited from the parent would hide the server's own allocations.
    ::malloc_trim(0);
    r.baseline_kib = status_kib("VmRSS");
    const long long file_before = status_kib("RssFile");
    {
      std::ofstream clear("/proc/self/clear_refs");
      clear << "5";  // reset VmHWM to the current VmRSS
      clear.close();
      if (!clear) throw std::runtime_error("cannot reset VmHWM (/proc/self/clear_refs)");
    }
    const int d = static_cast<int>(config.memory_d);
    boost::asio::io_context io;
    nodes::ps_options po;
    po.listen = {"127.0.0.1", 0};
    po.protocol.scheme = spec_for(config, ell);
    po.protocol.dimension = d;
    po.run.iterations = static_cast<std::uint64_t>(config.memory_iterations);
    po.initial_model = Eigen::VectorXd::Zero(d);
    po.on_gradient = [](std::uint64_t, const Eigen::VectorXd& g, double, Eigen::VectorXd& model) {
      model -= 1e-3 * g;
    };
    po.log = core::logger({}, core::log_level::off);
    bool done = false;
    std::exception_ptr failure;
    po.on_done = [&](std::exception_ptr e) {
      failure = e;
      done = true;
    };
    nodes::parameter_server ps(io.get_executor(), std::move(po));
    const std::uint16_t port = ps.start();
    if (!write_all(fd, &port, sizeof port)) ::_exit(3);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!done && std::chrono::steady_clock::now() < deadline)
      io.run_one_for(std::chrono::seconds(1));
    io.run_for(std::chrono::milliseconds(500));  // the Shutdown messages drain
    r.iterations = static_cast<int>(ps.completed());
    r.peak_kib = status_kib("VmHWM");
    r.code_kib = status_kib("RssFile") - file_before;
    if (failure) std::rethrow_exception(failure);
    if (!done) throw std::runtime_error("the run did not finish within 120 s");
  } catch (const std::exception& e) {
    std::snprintf(r.why, sizeof r.why, "%s", e.what());
  }
  write_all(fd, &r, sizeof r);
  ::close(fd);
  ::_exit(0);
}

// One measurement: the child's report, or a reason.
std::optional<child_report> measure(const bench_config& config, int ell, std::string& why) {
  int fds[2];
  if (::pipe(fds) != 0) {
    why = "pipe() failed";
    return std::nullopt;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    why = "fork() failed";
    return std::nullopt;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ps_child(fds[1], config, ell);
  }
  ::close(fds[1]);
  std::optional<child_report> result;
  std::uint16_t port = 0;
  if (!read_all(fds[0], &port, sizeof port, 30'000)) {
    why = "the parameter server process did not start";
  } else {
    boost::asio::io_context io;
    const int n = config.memory_workers;
    auto source = std::make_shared<const constant_source>(static_cast<int>(config.memory_d), n);
    std::vector<std::unique_ptr<nodes::worker>> workers;
    int finished = 0;
    for (int i = 0; i < n; ++i) {
      nodes::worker_options wo;
      wo.connect = {"127.0.0.1", port};
      wo.name = "memory-bench-" + std::to_string(i);
      wo.preferred_id = i;
      wo.log = core::logger({}, core::log_level::off);
      wo.on_done = [&](std::exception_ptr) { ++finished; };
      workers.push_back(std::make_unique<nodes::worker>(io.get_executor(), wo, source));
      workers.back()->start();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
    while (finished < n && std::chrono::steady_clock::now() < deadline)
      io.run_for(std::chrono::milliseconds(100));
    for (auto& w : workers)
      w->stop();
    io.run_for(std::chrono::milliseconds(200));
    workers.clear();
    child_report r;
    if (!read_all(fds[0], &r, sizeof r, 30'000)) {
      why = "the parameter server process did not report";
    } else if (r.why[0] != '\0') {
      why = std::string("parameter server: ") + r.why;
    } else {
      result = r;
    }
  }
  ::close(fds[0]);
  if (!result) ::kill(pid, SIGKILL);  // our own child, stuck or failed
  int status = 0;
  ::waitpid(pid, &status, 0);
  return result;
}

}  // namespace

void run_memory_bench(const bench_config& config, report& out) {
  const long long d = config.memory_d;
  const int n = config.memory_workers;
  for (const int ell : config.memory_ells) {
    const long long block = coding::block_layout{static_cast<int>(d), ell}.block();
    const double bound_bytes = 2.0 * static_cast<double>(n * block + d) * sizeof(double);
    const std::string suffix = ell == config.memory_ells.front() ? "" : "_ell" + std::to_string(ell);
    const std::string shape = "N = " + std::to_string(n) + ", load " +
                              std::to_string(config.memory_load) + ", ell = " +
                              std::to_string(ell) + ", d = " + std::to_string(d) + ", " +
                              std::to_string(config.memory_iterations) + " iterations";
    const std::string what =
        "PS peak memory (VmHWM minus VmRSS before the server and the code pages it ran, no "
        "training data) / 2 x (N x d/ell + d) doubles (lower is better, target <= 1), " +
        shape;
    std::string why;
    const auto r = measure(config, ell, why);
    if (!r) {
      out.add_missing("ps_peak_memory_vs_bound" + suffix, "ratio", what, why);
      continue;
    }
    const double code = static_cast<double>(r->code_kib) * 1024.0;
    const double peak = static_cast<double>(r->peak_kib - r->baseline_kib) * 1024.0 - code;
    out.add("ps_peak_memory_vs_bound" + suffix, peak / bound_bytes, "ratio", what);
    out.add("ps_peak_memory_mib" + suffix, peak / (1 << 20), "MiB",
            "PS peak memory above its baseline, code pages not counted, " + shape + " (bound " +
                std::to_string(static_cast<long long>(bound_bytes / (1 << 20))) + " MiB)");
    out.add("ps_code_pages_mib" + suffix, code / (1 << 20), "MiB",
            "code of the program paged in while the server ran (RssFile growth; in VmHWM, not "
            "in the figures above), " + shape);
  }
}

}  // namespace pgc::bench
