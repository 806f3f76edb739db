#pragma once

#include <vector>

namespace pgc::core {

// A contiguous run of samples [begin, begin + count).
struct chunk_range {
  long begin = 0;
  long count = 0;

  long end() const { return begin + count; }
  friend bool operator==(const chunk_range&, const chunk_range&) = default;
};

// Cuts `samples` samples into `chunks` contiguous chunks in order. The first samples % chunks
// chunks get one sample more, so sizes differ by at most one and every chunk is non-empty.
// Throws input_error if chunks < 1, samples < 1 or chunks > samples.
std::vector<chunk_range> split_chunks(long samples, int chunks);

}  // namespace pgc::core
