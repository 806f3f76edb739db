#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgc::bench {

// Where the MPI comparison program and the MPI launcher are; empty paths mean "not available".
struct mpi_tools {
  std::string exe;
  std::string mpirun;
  // The defaults found at build time, overridden by non-empty arguments; `why` says what is
  // missing when either is.
  static mpi_tools find(const std::string& exe, const std::string& mpirun, std::string& why);
};

struct mpi_timings {
  std::vector<double> gather_s;
  std::vector<double> reduce_s;
};

// Runs pgc_mpi_gather on n + 1 ranks (root and n workers) with vectors of d doubles through
// mpirun, bounded by a timeout. No value, and `why` set, when it fails.
// Which transport Open MPI may use between the ranks on this machine.
enum class mpi_transport {
  default_choice,  // its own pick: shared memory (single copy) on one machine
  tcp,             // --mca pml ob1 --mca btl self,tcp: TCP, what pgc uses and MPI across hosts
};

std::optional<mpi_timings> run_mpi_gather(const mpi_tools& tools, int n, long long d,
                                          int iterations, std::string& why,
                                          mpi_transport transport = mpi_transport::default_choice);

}  // namespace pgc::bench
