#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgc::launch {

// Turns a byte stream into whole lines (without the '\n' and a trailing '\r'). Pure: no I/O.
// A line longer than `max_line` bytes is emitted in pieces of at most `max_line` bytes, cut
// before a UTF-8 continuation byte where possible, so one runaway writer cannot make us buffer
// without limit and a multi-byte character is not torn in two.
class line_splitter {
 public:
  static constexpr std::size_t k_default_max_line = 64 * 1024;

  // Throws core::input_error if max_line is smaller than 4 (one UTF-8 character must fit).
  explicit line_splitter(std::size_t max_line = k_default_max_line);

  // Calls emit(std::string_view) for every line completed by `bytes`; the view is valid only
  // during the call.
  template <class Emit>
  void feed(std::string_view bytes, Emit&& emit) {
    while (!bytes.empty()) {
      const auto newline = bytes.find('\n');
      const auto take = newline == std::string_view::npos ? bytes.size() : newline;
      append_(bytes.substr(0, take), emit);
      if (newline == std::string_view::npos) return;
      emit(finish_line_());
      pending_.clear();
      bytes.remove_prefix(newline + 1);
    }
  }

  // Emits the partial last line, if any (the stream ended without a final newline).
  template <class Emit>
  void flush(Emit&& emit) {
    if (pending_.empty()) return;
    emit(finish_line_());
    pending_.clear();
  }

  bool has_partial_line() const noexcept { return !pending_.empty(); }

 private:
  template <class Emit>
  void append_(std::string_view part, Emit& emit) {
    while (pending_.size() + part.size() > max_line_) {
      const auto room = max_line_ - pending_.size();
      pending_.append(part.substr(0, room));
      part.remove_prefix(room);
      const auto cut = cut_point_();
      carry_.assign(pending_, cut);
      pending_.resize(cut);
      emit(std::string_view(pending_));
      pending_.swap(carry_);
    }
    pending_.append(part);
  }

  std::size_t cut_point_() const noexcept;
  // The pending line without a trailing '\r'; the caller clears it after emitting.
  std::string_view finish_line_() const noexcept;

  std::size_t max_line_;
  std::string pending_;
  std::string carry_;  // the bytes after a cut, reused to avoid an allocation per piece
};

}  // namespace pgc::launch
