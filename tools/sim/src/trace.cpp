#include "pgc/sim/trace.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "pgc/core/error.hpp"

namespace pgc::sim {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i]))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i]))
      ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

chunk_times parse_trace(std::string_view text, const coding::assignment& tasks) {
  chunk_times out(tasks);
  int worker = 0;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const auto fields = split(line);
    if (fields.empty()) continue;
    const std::string where = "trace line " + std::to_string(line_no);
    if (worker >= tasks.workers()) {
      throw core::input_error(where + ": more lines than the " + std::to_string(tasks.workers()) +
                              " workers of the assignment");
    }
    const auto row = out.row(worker);
    const bool empty_list = fields.size() == 1 && fields[0] == "-";
    std::size_t p = 0;
    bool failed = false;
    for (const auto f : empty_list ? std::vector<std::string_view>{} : fields) {
      double t = 0.0;
      const auto [last, ec] = std::from_chars(f.data(), f.data() + f.size(), t);
      if (ec != std::errc() || last != f.data() + f.size() || std::isnan(t)) {
        throw core::input_error(where + ": '" + std::string(f) + "' is not a time in seconds");
      }
      if (t < 0.0) throw core::input_error(where + ": negative time " + std::string(f));
      if (failed && !std::isinf(t)) {
        throw core::input_error(where + ": finite time " + std::string(f) +
                                " after inf (a failed worker does not come back)");
      }
      if (p >= row.size()) {
        throw core::input_error(where + ": " + std::to_string(fields.size()) +
                                " times but worker " + std::to_string(worker) + " holds " +
                                std::to_string(row.size()) + " chunks");
      }
      failed = failed || std::isinf(t);
      row[p++] = t;
    }
    if (p < row.size()) {
      if (!failed) {
        throw core::input_error(where + ": " + std::to_string(p) + " times but worker " +
                                std::to_string(worker) + " holds " + std::to_string(row.size()) +
                                " chunks (end a failed worker's line with inf)");
      }
      for (; p < row.size(); ++p)
        row[p] = k_never;
    }
    ++worker;
  }
  if (worker != tasks.workers()) {
    throw core::input_error("trace has " + std::to_string(worker) +
                            " worker lines, the assignment has " + std::to_string(tasks.workers()) +
                            " workers");
  }
  out.update_finish();
  return out;
}

}  // namespace pgc::sim
