#pragma once

#include <string_view>

#include "pgc/coding/assignment.hpp"
#include "pgc/sim/chunk_times.hpp"

namespace pgc::sim {

// The trace format: one line per worker, in worker order, with the processing times in seconds
// of the chunks in that worker's list order, separated by whitespace. `inf` at some position
// means the worker fails there: every later entry must be `inf` too and may be left out. '-'
// alone is a worker without chunks; '#' starts a comment; blank lines are skipped. Throws
// core::input_error naming the line for a bad number, a negative time, a finite time after
// `inf`, a line with more or fewer times than the worker holds, or the wrong number of lines.
chunk_times parse_trace(std::string_view text, const coding::assignment& tasks);

}  // namespace pgc::sim
