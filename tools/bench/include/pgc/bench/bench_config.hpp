#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace pgc::bench {

// What `pgc bench` measures and how big. The defaults run in a couple of minutes on two cores;
// quick() shrinks every size to a smoke run of seconds.
struct bench_config {
  // Sections to run: any of "memory", "coding", "channel", "gather".
  std::vector<std::string> sections{"memory", "coding", "channel", "gather"};
  // Timed repetitions of every measurement; the best is kept (other load on the machine only
  // ever makes a run slower). Ours and its baseline alternate, so both see the same machine.
  int repeats = 5;
  // Shortest timed run in seconds: a fast operation is repeated until it lasts this long.
  double min_seconds = 0.05;

  // Coefficient solve: every ell x holders pair with ell <= holders.
  std::vector<int> ells{1, 2, 4, 8, 16};
  std::vector<int> holders{1, 2, 4, 8, 16, 32, 64};
  // Worker encode: d and the number of chunk gradients it combines.
  long long encode_d = 10'000'000;
  int encode_load = 4;
  // PS decode: d and the number of coded vectors.
  long long decode_d = 1'000'000;
  int decode_workers = 16;

  // Channel against a raw socket: frames of this many doubles (2^20: 8 MiB), this many per run.
  std::size_t frame_doubles = std::size_t{1} << 20;
  int channel_frames = 16;
  // Its own repetitions: a loopback transfer on a shared virtual machine spreads by +-10% from
  // run to run, so the best of 5 still does; the best of 15 settles (about 7 s).
  int channel_repeats = 15;

  // Gather of N encoded vectors of d doubles (ell = 1) over TCP, against MPI. The headline
  // ratios use the first N and the last d.
  std::vector<int> gather_workers{8, 64};
  std::vector<long long> gather_dims{100'000, 1'000'000};
  int gather_iterations = 5;
  bool mpi = true;
  // Empty: the pgc_mpi_gather and mpirun found when pgc was built.
  std::string mpi_exe;
  std::string mpirun;

  // PS peak memory: a real parameter server in a child process and N in-process workers
  // (cyclic load, proposed scheme) for this many iterations, once per ell.
  long long memory_d = 1'000'000;
  int memory_workers = 8;
  int memory_load = 4;
  std::vector<int> memory_ells{1, 4};
  int memory_iterations = 5;

  bool runs(const std::string& section) const;
  // Throws core::input_error naming the first bad value.
  void validate() const;
  // The sizes of --quick; `sections`, `mpi` and the MPI paths are kept.
  static bench_config quick(const bench_config& base);
};

}  // namespace pgc::bench
