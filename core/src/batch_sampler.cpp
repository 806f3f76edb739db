#include "pgc/core/batch_sampler.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

#include "detail/random.hpp"
#include "pgc/core/error.hpp"

namespace pgc::core {
namespace {

// Above this B * n_j could overflow a 64-bit product in the shares' arithmetic.
constexpr long k_max_samples = 1L << 31;

// splitmix64's finalizer: a bijection that spreads every input bit over the output.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The generator of chunk `chunk`'s permutation in epoch `epoch`: part of the definition of the
// batches (every holder of a chunk must derive the same), so it never changes.
std::uint64_t permutation_key(std::uint64_t seed, std::uint64_t epoch, int chunk) {
  std::uint64_t key = mix(seed + 0x9e3779b97f4a7c15ULL);
  key = mix(key ^ (epoch * 0xd1b54a32d192ed03ULL));
  return mix(key ^ (static_cast<std::uint64_t>(chunk) + 1) * 0xaef17502108ef2d9ULL);
}

// Uniform in [0, bound), bound > 0, without modulo bias: draws below 2^64 mod bound are
// rejected (with probability < bound / 2^64).
std::uint64_t uniform_below(detail::portable_random& random, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t r = random.next();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

batch_sampler::batch_sampler(std::vector<long> chunk_sizes, long batch_size, std::uint64_t seed)
    : sizes_(std::move(chunk_sizes)), batch_size_(batch_size), seed_(seed) {
  if (sizes_.empty()) throw input_error("a batch sampler needs at least one chunk");
  for (long n : sizes_) {
    if (n < 1) throw input_error("a batch sampler needs non-empty chunks");
    if (n > k_max_samples - samples_) throw input_error("too many samples for the batch sampler");
    samples_ += n;
  }
  if (batch_size < 1 || batch_size > samples_) {
    throw input_error("batch size " + std::to_string(batch_size) + " must lie between 1 and the " +
                      std::to_string(samples_) + " training samples");
  }
  // Largest remainders: floor(B n_j / n) each, then one more for the chunks whose quotient lost
  // the most, until the shares add up to B.
  const auto m = sizes_.size();
  shares_.resize(m);
  std::vector<long> remainder(m);
  long given = 0;
  for (std::size_t j = 0; j < m; ++j) {
    shares_[j] = batch_size * sizes_[j] / samples_;
    remainder[j] = batch_size * sizes_[j] % samples_;
    given += shares_[j];
  }
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t k = 0; given < batch_size; ++k, ++given)
    ++shares_[order[k]];

  const long smallest = *std::min_element(sizes_.begin(), sizes_.end());
  for (std::size_t j = 0; j < m; ++j) {
    if (shares_[j] == 0) {
      // floor(B n_j / n) >= floor(B n_min / n) >= 1 once B >= n / n_min.
      const long enough = (samples_ + smallest - 1) / smallest;
      throw input_error("a batch of " + std::to_string(batch_size) + " gives chunk " +
                        std::to_string(j) + " (" + std::to_string(sizes_[j]) +
                        " samples) no share; a batch of at least " + std::to_string(enough) +
                        " gives every chunk one");
    }
  }
  // b_j <= n_j (a chunk is only rounded up from below n_j), so every chunk lasts a step.
  long steps = sizes_[0] / shares_[0];
  for (std::size_t j = 1; j < m; ++j)
    steps = std::min(steps, sizes_[j] / shares_[j]);
  steps_per_epoch_ = static_cast<std::uint64_t>(steps);
}

long batch_sampler::chunk_size(int chunk) const {
  if (chunk < 0 || chunk >= chunks()) throw input_error("chunk out of range");
  return sizes_[static_cast<std::size_t>(chunk)];
}

long batch_sampler::share(int chunk) const {
  if (chunk < 0 || chunk >= chunks()) throw input_error("chunk out of range");
  return shares_[static_cast<std::size_t>(chunk)];
}

std::vector<long> batch_sampler::samples(int chunk, std::uint64_t step) const {
  const long n = chunk_size(chunk);
  const long b = share(chunk);
  const std::uint64_t epoch = epoch_of(step);
  const auto first = static_cast<long>(step % steps_per_epoch_) * b;
  // Fisher-Yates from the front: position k is final once step k is done, so the permutation is
  // only drawn as far as this step's positions.
  std::vector<long> permutation(static_cast<std::size_t>(n));
  std::iota(permutation.begin(), permutation.end(), 0L);
  detail::portable_random random(permutation_key(seed_, epoch, chunk));
  for (long k = 0; k < first + b; ++k) {
    const auto pick =
        k + static_cast<long>(uniform_below(random, static_cast<std::uint64_t>(n - k)));
    std::swap(permutation[static_cast<std::size_t>(k)],
              permutation[static_cast<std::size_t>(pick)]);
  }
  std::vector<long> out(permutation.begin() + first, permutation.begin() + first + b);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pgc::core
