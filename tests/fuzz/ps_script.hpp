#pragma once

// The input format of the ps_machine fuzz target, shared with the seed generator: a config
// header, then events, each an opcode byte and its operands. Every byte string is a valid script
// (missing bytes read as 0), and the operands are mostly relative to the machine's state
// (the running iteration, the current epoch, the block length), so mutations reach deep phases
// instead of stopping at the first stale-iteration check.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pgc::fuzz {

// Reads the script front to back; past the end every byte is 0.
class script_reader {
 public:
  explicit script_reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool done() const noexcept { return at_ >= bytes_.size(); }
  std::uint8_t byte() noexcept { return at_ < bytes_.size() ? bytes_[at_++] : 0; }
  template <class T>
  T raw() noexcept {
    T v = 0;
    for (std::size_t k = 0; k < sizeof(T); ++k)
      v = static_cast<T>(v | static_cast<T>(static_cast<T>(byte()) << (8 * k)));
    return v;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

// Header bytes, in order (see config_from in fuzz_ps_machine.cpp for their meaning).
struct script_header {
  std::uint8_t kind = 0;         // % 5: coding::scheme_kind
  std::uint8_t workers = 0;      // 1 + % 6
  std::uint8_t load = 0;         // 1 + % workers
  std::uint8_t ell = 0;          // 1 + % 3
  std::uint8_t flags = 0;        // bit 0 approximate, bits 1-2 shortfall policy, bit 3 bounded
  std::uint8_t dimension = 0;    // 1 + % 8
  std::uint8_t min_workers = 0;  // % (workers + 1)
  std::uint8_t first_workers = 0;
  std::uint8_t iterations = 0;       // % 4, when bounded
  std::uint8_t first_iteration = 0;  // % 3
  std::uint8_t seed = 0;
};

enum class op : std::uint8_t { joined, lost, progress, encoded, deadline, model_ready, count };

// Operand selectors: what an iteration or epoch byte means.
enum class iteration_sel : std::uint8_t {
  current,    // ps_machine::iteration()
  next,       // iteration() + 1
  previous,   // iteration() - 1 (wraps at 0)
  completed,  // completed(): what model_ready expects after a decode
  zero,
  max,
  after_next,  // iteration() + 2
  raw,         // 8 more bytes
  count
};
enum class epoch_sel : std::uint8_t { current, next, previous, zero, max, raw, count };

// Builds scripts for the seed corpus.
class script_writer {
 public:
  explicit script_writer(const script_header& h) {
    bytes_ = {h.kind,       h.workers,         h.load,        h.ell,
              h.flags,      h.dimension,       h.min_workers, h.first_workers,
              h.iterations, h.first_iteration, h.seed};
  }
  // Worker bytes are w + 1: 0 means worker -1.
  void joined(int w) { put(op::joined, w + 1); }
  void lost(int w) { put(op::lost, w + 1); }
  void progress(int w, iteration_sel it, int chunks_done) {
    put(op::progress, w + 1);
    bytes_.push_back(static_cast<std::uint8_t>(it));
    bytes_.push_back(static_cast<std::uint8_t>(chunks_done + 1));
  }
  // length_delta: -1, 0 or +1 around the block length; value: the payload's entries.
  void encoded(int w, iteration_sel it, epoch_sel ep, int length_delta, std::uint8_t value) {
    put(op::encoded, w + 1);
    bytes_.push_back(static_cast<std::uint8_t>(it));
    bytes_.push_back(static_cast<std::uint8_t>(ep));
    bytes_.push_back(static_cast<std::uint8_t>(length_delta + 1));
    bytes_.push_back(value);
  }
  void deadline(iteration_sel it) { put(op::deadline, static_cast<int>(it)); }
  void model_ready(iteration_sel it) { put(op::model_ready, static_cast<int>(it)); }

  const std::vector<std::uint8_t>& bytes() const noexcept { return bytes_; }

 private:
  void put(op o, int operand) {
    bytes_.push_back(static_cast<std::uint8_t>(o));
    bytes_.push_back(static_cast<std::uint8_t>(operand));
  }
  std::vector<std::uint8_t> bytes_;
};

}  // namespace pgc::fuzz
