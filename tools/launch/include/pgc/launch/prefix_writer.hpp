#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace pgc::launch {

// Writes "[name] line\n" to a file descriptor, the name padded to a fixed width and colored
// when the descriptor is a terminal. Each line goes out in one write() call, so other processes
// sharing the descriptor cannot interleave inside it (guaranteed for pipes up to PIPE_BUF bytes;
// the line splitter bounds the length of what reaches us).
// A blocking descriptor blocks the caller: on a terminal or a log file this is the back-pressure
// we want; it is the caller's job not to hand us a pipe nobody reads.
class prefix_writer {
 public:
  enum class color_mode { automatic, always, never };

  explicit prefix_writer(int fd = 1, std::size_t name_width = 0,
                         color_mode colors = color_mode::automatic);

  // Not thread-safe: call from one thread (the io thread). Widens the name column if a longer
  // name appears, so alignment is fixed once every name has been seen.
  void write(std::string_view name, std::string_view line);

  // The prefix for `name` without color: "[w3] " padded to the current width.
  std::string plain_prefix(std::string_view name) const;

 private:
  const char* color_for_(std::string_view name);

  int fd_;
  std::size_t name_width_;
  bool colored_;
  std::map<std::string, const char*, std::less<>> colors_;
  std::string buffer_;
};

}  // namespace pgc::launch
