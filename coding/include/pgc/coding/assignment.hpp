#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgc::coding {

// A worker that holds a chunk, and where the chunk sits in that worker's processing order.
struct holder {
  int worker;
  int position;
};

// Which chunks every worker holds, in the order it processes them: the lists L_0..L_{N-1} of
// DESIGN.md section 1. Always valid: the constructor rejects chunk ids out of range, a chunk
// twice in one list and a chunk that no worker holds (throws core::input_error).
class assignment {
 public:
  assignment(int chunks, std::vector<std::vector<int>> lists);

  int workers() const noexcept { return static_cast<int>(lists_.size()); }
  int chunks() const noexcept { return chunks_; }
  const std::vector<std::vector<int>>& lists() const noexcept { return lists_; }
  std::span<const int> list(int worker) const {
    return lists_.at(static_cast<std::size_t>(worker));
  }
  int load(int worker) const { return static_cast<int>(list(worker).size()); }
  std::int64_t total_load() const noexcept { return total_load_; }

  // Holders of a chunk, ordered by worker id.
  std::span<const holder> holders(int chunk) const;
  int replication(int chunk) const { return static_cast<int>(holders(chunk).size()); }
  int min_replication() const noexcept { return min_replication_; }

  // m == N and every worker and every chunk has the same degree.
  bool is_regular() const noexcept;

  // Throws core::input_error unless 1 <= ell <= every chunk's replication.
  void check_ell(int ell) const;

  // The same assignment with every list permuted; throws core::input_error if a new list is
  // not a permutation of the old one.
  assignment reordered(std::vector<std::vector<int>> lists) const;

  friend bool operator==(const assignment& a, const assignment& b) {
    return a.chunks_ == b.chunks_ && a.lists_ == b.lists_;
  }

 private:
  int chunks_;
  std::vector<std::vector<int>> lists_;
  std::vector<int> holder_offsets_;  // CSR index into holders_, size chunks_ + 1
  std::vector<holder> holders_;
  std::int64_t total_load_ = 0;
  int min_replication_ = 0;
};

// Worker i holds the `load` consecutive chunks starting at floor(i * chunks / workers), mod
// chunks; with chunks == workers this is the cyclic assignment of Tandon et al.
assignment cyclic(int workers, int load, int chunks);
inline assignment cyclic(int workers, int load) {
  return cyclic(workers, load, workers);
}

// Fractional repetition: groups of `load` workers hold the same `load` chunks (m = N);
// `load` must divide `workers`.
assignment fractional_repetition(int workers, int load);

// A uniformly mixed random load-regular bipartite graph with m = N (random double-edge swaps
// of the cyclic assignment); lists in increasing chunk order.
assignment random_regular(int workers, int load, std::uint64_t seed);

// The text format: one line per worker, its chunk ids in processing order, separated by
// whitespace; '-' alone is a worker without chunks; '#' starts a comment; blank lines are
// skipped. chunks <= 0 means "largest id + 1". Errors name the line.
assignment parse_assignment(std::string_view text, int chunks = 0);
std::string format_assignment(const assignment& a);

}  // namespace pgc::coding
