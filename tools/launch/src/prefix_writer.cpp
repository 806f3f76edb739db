#include "pgc/launch/prefix_writer.hpp"

#include <array>
#include <cerrno>
#include <unistd.h>

namespace pgc::launch {

namespace {

// Bold for the first name (the PS by convention), then a cycle that avoids red, which people
// read as an error.
constexpr std::array k_palette{"\x1b[1;37m", "\x1b[36m", "\x1b[32m",   "\x1b[33m",
                               "\x1b[35m",   "\x1b[34m", "\x1b[1;36m", "\x1b[1;32m"};
constexpr std::string_view k_reset = "\x1b[0m";

}  // namespace

prefix_writer::prefix_writer(int fd, std::size_t name_width, color_mode colors)
    : fd_(fd),
      name_width_(name_width),
      colored_(colors == color_mode::always ||
               (colors == color_mode::automatic && ::isatty(fd) == 1)) {}

std::string prefix_writer::plain_prefix(std::string_view name) const {
  std::string prefix = "[";
  prefix.append(name);
  prefix += "] ";
  if (name.size() < name_width_) prefix.append(name_width_ - name.size(), ' ');
  return prefix;
}

const char* prefix_writer::color_for_(std::string_view name) {
  const auto found = colors_.find(name);
  if (found != colors_.end()) return found->second;
  const char* color = k_palette[colors_.size() % k_palette.size()];
  colors_.emplace(std::string(name), color);
  return color;
}

void prefix_writer::write(std::string_view name, std::string_view line) {
  if (name.size() > name_width_) name_width_ = name.size();
  buffer_.clear();
  if (colored_) {
    buffer_.append(color_for_(name));
    buffer_.append(plain_prefix(name));
    buffer_.append(k_reset);
  } else {
    buffer_.append(plain_prefix(name));
  }
  buffer_.append(line);
  buffer_ += '\n';
  std::string_view rest(buffer_);
  while (!rest.empty()) {
    const auto written = ::write(fd_, rest.data(), rest.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // a closed, broken or non-blocking full sink must not take the supervisor down
    }
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
}

}  // namespace pgc::launch
