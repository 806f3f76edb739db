#include "ready_signal.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

#include <boost/json.hpp>

#include "pgc/core/error.hpp"

namespace pgc::tools {

std::string ready_signal::to_json() const {
  boost::json::object o;
  o["listen"] = listen.to_string();
  if (dashboard) {
    o["dashboard"] = dashboard->to_string();
  } else {
    o["dashboard"] = nullptr;
  }
  o["pid"] = static_cast<std::int64_t>(pid);
  return boost::json::serialize(o);
}

ready_signal ready_signal::parse(std::string_view line) {
  const auto bad = [&](const std::string& why) {
    return std::runtime_error("not a readiness line (" + why + "): '" + std::string(line) + "'");
  };
  boost::system::error_code ec;
  const auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) throw bad("no JSON object");
  const auto& o = v.as_object();
  ready_signal s;
  try {
    const auto* listen = o.if_contains("listen");
    if (listen == nullptr || !listen->is_string()) throw bad("no \"listen\" address");
    s.listen = net::parse_endpoint(std::string(listen->as_string()));
    if (const auto* d = o.if_contains("dashboard"); d != nullptr && d->is_string()) {
      s.dashboard = net::parse_endpoint(std::string(d->as_string()));
    }
  } catch (const core::input_error& e) {
    throw bad(e.what());
  }
  if (const auto* pid = o.if_contains("pid"); pid != nullptr && pid->is_int64()) {
    s.pid = static_cast<pid_t>(pid->as_int64());
  }
  return s;
}

void check_ready_fd(int fd) {
  if (fd < 0) return;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
    throw core::input_error("--ready-fd " + std::to_string(fd) +
                            " is not a descriptor open for writing");
  }
}

void write_ready_fd(int fd, const ready_signal& signal) {
  check_ready_fd(fd);
  const std::string line = signal.to_json() + '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw std::runtime_error("cannot write the readiness line to --ready-fd " +
                               std::to_string(fd) + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

void write_ready_file(const std::string& path, const ready_signal& signal) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    throw std::runtime_error("cannot write --ready-file '" + tmp + "': " + std::strerror(errno));
  }
  const std::string line = signal.to_json() + '\n';
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("cannot write --ready-file '" + path + "': " + std::strerror(errno));
  }
}

}  // namespace pgc::tools
