#include "pgc/core/chunk_split.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::core {

std::vector<chunk_range> split_chunks(long samples, int chunks) {
  if (chunks < 1) throw input_error("need at least one chunk, got " + std::to_string(chunks));
  if (samples < 1) throw input_error("cannot split an empty data set into chunks");
  if (chunks > samples) {
    throw input_error("cannot cut " + std::to_string(samples) + " samples into " +
                      std::to_string(chunks) + " non-empty chunks");
  }
  const long base = samples / chunks;
  const long larger = samples % chunks;
  std::vector<chunk_range> ranges;
  ranges.reserve(static_cast<std::size_t>(chunks));
  long begin = 0;
  for (int c = 0; c < chunks; ++c) {
    const long count = base + (c < larger ? 1 : 0);
    ranges.push_back({begin, count});
    begin += count;
  }
  return ranges;
}

}  // namespace pgc::core
