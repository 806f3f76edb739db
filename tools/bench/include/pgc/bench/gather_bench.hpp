#pragma once

#include "pgc/bench/bench_config.hpp"
#include "pgc/bench/report.hpp"

namespace pgc::bench {

// Seconds of each of `iterations` gathers (after one warm-up) of n encoded vectors of d doubles
// over loopback TCP with the framed channel: the PS signals every worker (EncodeAndTransmit),
// each worker builds its Encoded message from its vector and sends it, and the gather ends when
// the PS holds all n frames. The PS and the workers have one io thread each.
// With f32 the workers send float32 payloads (half the bytes). With shared_memory each worker
// builds its message in a region the PS's channel has taken (the same-host data plane that
// workers on the PS's host use, net/shared_memory.hpp) and the socket carries only references.
struct gather_setup {
  bool f32 = false;
  bool shared_memory = false;
};
std::vector<double> tcp_gather_seconds(int n, long long d, int iterations, gather_setup setup = {});

// Gathers for every configured (N, d) and, when pgc_mpi_gather and mpirun are there,
// gather_vs_mpi_gather = our time / MPI_Gather time and gather_vs_mpi_reduce likewise.
void run_gather_bench(const bench_config& config, report& out);

}  // namespace pgc::bench
