#include "pgc/bench/mpi_gather.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

namespace pgc::bench {
namespace {

#ifdef PGC_MPI_GATHER_EXE
constexpr const char* built_exe = PGC_MPI_GATHER_EXE;
constexpr const char* built_mpirun = PGC_MPIEXEC;
#else
constexpr const char* built_exe = "";
constexpr const char* built_mpirun = "";
#endif

// Bounds one mpirun: a hung MPI job must not hang the benchmark.
constexpr int mpirun_timeout_seconds = 900;

std::string quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// An executable named without a slash is looked up in PATH.
std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) return executable(name) ? name : std::string();
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (executable(candidate)) return candidate;
  }
  return {};
}

// Runs a shell command; its standard output, its exit status (-1 if it did not exit), and the
// first line of its standard error.
struct command_result {
  std::string out;
  int status = -1;
  std::string first_error_line;
};

command_result run_command(const std::string& command) {
  command_result r;
  char err_path[] = "/tmp/pgc-bench-mpi-XXXXXX";
  const int fd = ::mkstemp(err_path);
  if (fd < 0) return r;
  ::close(fd);
  FILE* pipe = ::popen((command + " 2>" + quote(err_path)).c_str(), "r");
  if (pipe != nullptr) {
    std::array<char, 4096> buffer;
    for (std::size_t got; (got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
      r.out.append(buffer.data(), got);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream err(err_path);
  for (std::string line; std::getline(err, line);) {
    // Open MPI frames its messages with lines of dashes.
    if (line.find_first_not_of(" \t-") != std::string::npos) {
      r.first_error_line = line;
      break;
    }
  }
  std::filesystem::remove(err_path);
  return r;
}

std::vector<double> numbers(const boost::json::value& v) {
  std::vector<double> out;
  for (const auto& x : v.as_array())
    out.push_back(x.to_number<double>());
  return out;
}

}  // namespace

mpi_tools mpi_tools::find(const std::string& exe, const std::string& mpirun, std::string& why) {
  mpi_tools t;
  t.exe = exe.empty() ? built_exe : exe;
  if (t.exe.empty()) {
    why = "pgc was built without MPI (install openmpi-bin and libopenmpi-dev, then rebuild)";
    return {};
  }
  if (!executable(t.exe)) {
    why = "the MPI comparison program " + t.exe + " is missing (build the pgc_mpi_gather target)";
    return {};
  }
  const std::string launcher = !mpirun.empty()         ? mpirun
                               : *built_mpirun != '\0' ? built_mpirun
                                                       : "mpirun";
  t.mpirun = resolve(launcher);
  if (t.mpirun.empty()) {
    why = "mpirun not found (" + launcher + "; install openmpi-bin)";
    return {};
  }
  return t;
}

std::optional<mpi_timings> run_mpi_gather(const mpi_tools& tools, int n, long long d,
                                          int iterations, std::string& why,
                                          mpi_transport transport) {
  std::string launcher = quote(tools.mpirun);
  // Open MPI refuses root without --allow-run-as-root, and more ranks than cores without
  // --oversubscribe; other MPIs do not know these flags.
  // Open MPI's launcher calls itself "mpirun (Open MPI)" or "mpiexec (OpenRTE)".
  const std::string version = run_command(launcher + " --version").out;
  if (version.find("Open MPI") != std::string::npos ||
      version.find("OpenRTE") != std::string::npos) {
    if (::geteuid() == 0) launcher += " --allow-run-as-root";
    launcher += " --oversubscribe";
    if (transport == mpi_transport::tcp) launcher += " --mca pml ob1 --mca btl self,tcp";
  } else if (transport == mpi_transport::tcp) {
    why = "forcing TCP is only known for Open MPI";
    return std::nullopt;
  }
  const std::string command = "timeout " + std::to_string(mpirun_timeout_seconds) + " " + launcher +
                              " -np " + std::to_string(n + 1) + " " + quote(tools.exe) + " --d " +
                              std::to_string(d) + " --iterations " + std::to_string(iterations) +
                              " --warmup 1 </dev/null";
  const command_result r = run_command(command);
  if (r.status != 0) {
    why = "mpirun failed (exit status " + std::to_string(r.status) + ")" +
          (r.first_error_line.empty() ? "" : ": " + r.first_error_line);
    return std::nullopt;
  }
  // The program prints one JSON line; mpirun may add its own lines around it.
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;
    boost::system::error_code ec;
    const auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    if (!o.contains("ok") || !o.at("ok").as_bool()) {
      why = "pgc_mpi_gather received wrong data";
      return std::nullopt;
    }
    mpi_timings t{numbers(o.at("gather_s")), numbers(o.at("reduce_s"))};
    if (t.gather_s.empty() || t.reduce_s.empty()) break;
    return t;
  }
  why = "pgc_mpi_gather printed no result";
  return std::nullopt;
}

}  // namespace pgc::bench
