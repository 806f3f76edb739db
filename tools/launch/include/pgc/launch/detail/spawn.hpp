#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

#include "pgc/launch/process.hpp"

namespace pgc::launch::detail {

// A started child and the parent's (close-on-exec) read ends of its stdout and stderr pipes.
struct spawned_child {
  pid_t pid = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int ready_fd = -1;  // the read end of the spec.ready_fd pipe; -1 without
};

// fork/exec with everything allocated before the fork, so the child only makes
// async-signal-safe calls. Returns once the exec has succeeded; an exec failure comes back
// through a close-on-exec pipe as core::input_error naming the executable.
spawned_child spawn_child(const process_spec& spec);

// The path execve should use for `file`: itself if it contains a '/', else the first
// executable regular file of that name in `path_list` (a PATH value). Empty if none.
std::string find_executable(std::string_view file, std::string_view path_list);

}  // namespace pgc::launch::detail
