#include "options/option_helpers.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "pgc/core/error.hpp"

namespace pgc::tools {

std::string exact_text(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

namespace {

// The number in `text`, or nullopt-like NaN when it is not one (left to the conversion).
long double number_in(const std::string& text) {
  if (text.empty()) return std::nanl("");
  char* end = nullptr;
  errno = 0;
  const long double v = std::strtold(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nanl("");
  return v;
}

std::string text_of(long double v) {
  std::ostringstream out;
  out.precision(20);
  out << v;
  return out.str();
}

}  // namespace

CLI::Validator at_least(long double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        const long double v = number_in(text);
        if (std::isnan(v) || v >= minimum) return {};
        return "must be at least " + text_of(minimum) + ", not " + text;
      },
      ">= " + text_of(minimum), "at least");
}

CLI::Validator in_range(long double minimum, long double maximum) {
  return CLI::Validator(
      [minimum, maximum](std::string& text) -> std::string {
        const long double v = number_in(text);
        if (std::isnan(v) || (v >= minimum && v <= maximum)) return {};
        return "must lie in [" + text_of(minimum) + ", " + text_of(maximum) + "], not " + text;
      },
      "in [" + text_of(minimum) + ", " + text_of(maximum) + "]", "in range");
}

CLI::Validator greater_than(long double bound) {
  return CLI::Validator(
      [bound](std::string& text) -> std::string {
        const long double v = number_in(text);
        if (std::isnan(v) || v > bound) return {};
        return "must be greater than " + text_of(bound) + ", not " + text;
      },
      "> " + text_of(bound), "greater than");
}

void check_writable(const std::string& path, std::string_view what) {
  if (path.empty()) return;
  namespace fs = std::filesystem;
  const auto fail = [&](const std::string& reason) {
    throw core::input_error("cannot write " + std::string(what) + " '" + path + "': " + reason);
  };
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) fail("it is a directory");
  if (fs::exists(p, ec) && ::access(path.c_str(), W_OK) != 0) fail(std::strerror(errno));
  // Files are replaced through a temporary next to them (or created): the directory must take
  // a new file. mkstemp tells, with the reason, without touching `path`.
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::string probe = (dir / (p.filename().string() + ".pgc-check-XXXXXX")).string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail(std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void append_if_set(std::vector<std::string>& out, std::string_view flag, const std::string& value) {
  if (value.empty()) return;
  out.emplace_back(flag);
  out.push_back(value);
}

}  // namespace pgc::tools
