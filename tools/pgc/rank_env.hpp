#pragma once

// Which rank of a parallel job this process is, read from what the job launcher exports.
// main()-level code only (STYLE.md 13): the rest of pgc never looks at the environment.

#include <functional>
#include <optional>
#include <string>

namespace pgc::tools {

struct rank_env {
  int rank = 0;
  int size = 1;
  std::string source;  // the variables it came from, e.g. "SLURM_PROCID/SLURM_NTASKS"
  // Identifies this job run (empty if the launcher exports nothing usable): a rendezvous file
  // left behind by an earlier job carries another one and is not trusted.
  std::string job;
};

using env_lookup = std::function<std::optional<std::string>(const char* name)>;
// std::getenv.
std::optional<std::string> process_env(const char* name);

// Open MPI's OMPI_COMM_WORLD_RANK/SIZE, then the PMI_RANK/PMI_SIZE of MPICH, Intel MPI and srun
// --mpi=pmi2, then Slurm's SLURM_PROCID/SLURM_NTASKS. Empty when none is set; throws
// core::input_error for a half-set or malformed pair (e.g. a rank not below the size).
std::optional<rank_env> detect_rank_env(const env_lookup& env = process_env);

// This process as one of several ranks of an MPI job (Open MPI's or PMI's variables; never
// throws): pgc launch refuses to run so, as every rank would start a cluster of its own. Slurm's
// variables alone do not count: a batch script sees them without srun.
std::optional<rank_env> mpi_rank_env(const env_lookup& env = process_env) noexcept;

}  // namespace pgc::tools
