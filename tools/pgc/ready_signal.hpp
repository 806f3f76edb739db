#pragma once

// The PS's machine-readable readiness line: `pgc ps --ready-fd N` (or --ready-file PATH) writes
// {"listen":"HOST:PORT","dashboard":"HOST:PORT"|null,"pid":PID} once it listens. pgc launch and
// pgc rank read it to find the port it bound; the "listening on" line is for people.

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "pgc/net/endpoint.hpp"

namespace pgc::tools {

struct ready_signal {
  net::endpoint listen;
  std::optional<net::endpoint> dashboard;
  pid_t pid = 0;

  // One JSON object, without a newline.
  std::string to_json() const;
  // Throws std::runtime_error quoting `line` when it is not such an object.
  static ready_signal parse(std::string_view line);
};

// The descriptor on which launch and rank give the PS the write end of their ready pipe.
inline constexpr int k_ready_fd = 3;

// Writes the line (with a newline) to `fd` and closes it; throws core::input_error naming
// --ready-fd when `fd` is not open for writing.
void write_ready_fd(int fd, const ready_signal& signal);
// Writes the line to PATH.tmp and renames it to `path`: a reader sees no file or all of it.
void write_ready_file(const std::string& path, const ready_signal& signal);
// Throws core::input_error unless `fd` is an open descriptor (checked before the PS starts).
void check_ready_fd(int fd);

}  // namespace pgc::tools
