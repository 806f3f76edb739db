#include "pgc/launch/line_splitter.hpp"

#include "pgc/core/error.hpp"

namespace pgc::launch {

line_splitter::line_splitter(std::size_t max_line) : max_line_(max_line) {
  if (max_line_ < 4) {
    throw core::input_error("line_splitter: max_line must be at least 4 bytes, got " +
                            std::to_string(max_line_));
  }
}

std::size_t line_splitter::cut_point_() const noexcept {
  // Find where the last character starts; if it is incomplete, cut before it.
  const auto size = pending_.size();
  for (std::size_t back = 1; back <= 4 && back <= size; ++back) {
    const auto pos = size - back;
    const auto byte = static_cast<unsigned char>(pending_[pos]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for the lead
    std::size_t length = 1;
    if ((byte & 0xE0) == 0xC0)
      length = 2;
    else if ((byte & 0xF0) == 0xE0)
      length = 3;
    else if ((byte & 0xF8) == 0xF0)
      length = 4;
    return (pos + length > size && pos > 0) ? pos : size;
  }
  return size;  // not UTF-8 text: cut anywhere
}

std::string_view line_splitter::finish_line_() const noexcept {
  std::string_view line(pending_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace pgc::launch
