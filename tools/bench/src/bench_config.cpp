#include "pgc/bench/bench_config.hpp"

#include <algorithm>
#include <string>

#include "pgc/core/error.hpp"

namespace pgc::bench {
namespace {

using core::input_error;

void check_positive(long long v, const std::string& name, long long max) {
  if (v < 1 || v > max) {
    throw input_error(name + " = " + std::to_string(v) + " is outside [1, " + std::to_string(max) +
                      "]");
  }
}

}  // namespace

bool bench_config::runs(const std::string& section) const {
  return std::find(sections.begin(), sections.end(), section) != sections.end();
}

void bench_config::validate() const {
  if (sections.empty()) throw input_error("--only needs at least one section");
  for (const auto& s : sections) {
    if (s != "memory" && s != "coding" && s != "channel" && s != "gather") {
      throw input_error("unknown section '" + s + "' (memory, coding, channel, gather)");
    }
  }
  check_positive(repeats, "--repeats", 1000);
  if (!(min_seconds > 0 && min_seconds <= 60))
    throw input_error("--min-seconds must be in (0, 60]");
  if (ells.empty() || holders.empty()) throw input_error("--ells and --holders must not be empty");
  for (int e : ells)
    check_positive(e, "--ells entry", 64);
  for (int h : holders)
    check_positive(h, "--holders entry", 256);
  // Encoded vectors and gradients are indexed by int in the coding module.
  constexpr long long max_d = 1'000'000'000;
  check_positive(encode_d, "--encode-d", max_d);
  check_positive(encode_load, "--encode-load", 64);
  check_positive(decode_d, "--decode-d", max_d);
  check_positive(decode_workers, "--decode-workers", 1024);
  check_positive(static_cast<long long>(frame_doubles), "--frame-doubles", 1LL << 24);
  check_positive(channel_frames, "--channel-frames", 4096);
  check_positive(channel_repeats, "--channel-repeats", 1000);
  if (gather_workers.empty() || gather_dims.empty()) {
    throw input_error("--gather-workers and --gather-d must not be empty");
  }
  for (int n : gather_workers)
    check_positive(n, "--gather-workers entry", 256);
  // One Encoded frame must fit the channel's default frame limit (128 MiB).
  for (long long d : gather_dims)
    check_positive(d, "--gather-d entry", 16'000'000);
  check_positive(gather_iterations, "--gather-iterations", 1000);
  check_positive(memory_d, "--memory-d", 16'000'000);
  check_positive(memory_workers, "--memory-workers", 64);
  check_positive(memory_load, "--memory-load", memory_workers);
  if (memory_ells.empty()) throw input_error("--memory-ells must not be empty");
  for (int e : memory_ells)
    check_positive(e, "--memory-ells entry", memory_load);
  check_positive(memory_iterations, "--memory-iterations", 1000);
}

bench_config bench_config::quick(const bench_config& base) {
  bench_config q = base;
  q.repeats = 3;
  q.min_seconds = 0.01;
  q.ells = {1, 8};
  q.holders = {8, 32};
  q.encode_d = 100'000;
  q.decode_d = 100'000;
  q.channel_frames = 4;
  q.channel_repeats = 3;
  q.gather_workers = {8};
  q.gather_dims = {100'000};
  q.gather_iterations = 3;
  q.memory_d = 100'000;
  q.memory_ells = {1};
  q.memory_iterations = 2;
  return q;
}

}  // namespace pgc::bench
