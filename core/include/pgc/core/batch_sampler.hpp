#pragma once

#include <cstdint>
#include <vector>

namespace pgc::core {

// Which samples make up the mini-batch of each optimizer step, chunk by chunk: a pure function
// of (seed, step, chunk), so every process that holds chunk j derives the same samples for it
// without being told, and a coded gradient built from several holders' results stays exact.
//
// The global batch has B samples. Chunk j (n_j samples, n in all) contributes its share b_j,
// proportional to n_j: floor(B n_j / n), plus one for the chunks with the largest remainders
// (ties to the lower index) until the shares add up to B exactly.
//
// An epoch is E = min_j floor(n_j / b_j) steps; step t belongs to epoch t / E. In epoch e chunk j
// walks a permutation of its samples drawn from a generator keyed by (seed, e, j), reshuffled
// every epoch: the k-th step of the epoch takes the permutation's positions [k b_j, (k+1) b_j).
// So no sample is used twice in an epoch; the last n_j - E b_j positions of each epoch's
// permutation (fewer than b_j, or a few more for the chunk that sets E) sit that epoch out, as
// PyTorch's drop_last does, and since the permutation changes, a different few every epoch.
// With B = n every step is the whole data set.
//
// Immutable after construction: every member may be called from any thread.
class batch_sampler {
 public:
  // `chunk_sizes` are the n_j. Throws input_error if there are no chunks, a chunk is empty, the
  // batch size lies outside [1, n], or a chunk's share rounds to zero (the message names a batch
  // size large enough for every chunk).
  batch_sampler(std::vector<long> chunk_sizes, long batch_size, std::uint64_t seed);

  long batch_size() const noexcept { return batch_size_; }
  std::uint64_t seed() const noexcept { return seed_; }
  int chunks() const noexcept { return static_cast<int>(sizes_.size()); }
  long samples() const noexcept { return samples_; }
  // n_j and b_j; throw input_error for a chunk out of range.
  long chunk_size(int chunk) const;
  long share(int chunk) const;
  // E, at least 1.
  std::uint64_t steps_per_epoch() const noexcept { return steps_per_epoch_; }
  std::uint64_t epoch_of(std::uint64_t step) const noexcept { return step / steps_per_epoch_; }

  // Chunk j's share of the batch of step `step`: b_j distinct offsets into the chunk, each in
  // [0, n_j), ascending (the order of a sum is then the same on every holder, and the samples
  // are read front to back). Throws input_error for a chunk out of range. O(n_j) time and memory.
  std::vector<long> samples(int chunk, std::uint64_t step) const;

 private:
  std::vector<long> sizes_;
  std::vector<long> shares_;
  long samples_ = 0;
  long batch_size_ = 0;
  std::uint64_t seed_ = 0;
  std::uint64_t steps_per_epoch_ = 1;
};

}  // namespace pgc::core
