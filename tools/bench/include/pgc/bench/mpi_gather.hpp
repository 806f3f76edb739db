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
std::optional<mpi_timings> run_mpi_gather(const mpi_tools& tools, int n, long long d,
                                          int iterations, std::string& why);

}  // namespace pgc::bench
