#include "rank_env.hpp"

#include <charconv>
#include <cstdlib>

#include "pgc/core/error.hpp"

namespace pgc::tools {
namespace {

int parse_count(const std::string& text, const char* name) {
  int value = -1;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, value);
  if (r.ec != std::errc{} || r.ptr != end || value < 0) {
    throw core::input_error(std::string(name) + "='" + text + "' is not a non-negative integer");
  }
  return value;
}

}  // namespace

std::optional<std::string> process_env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

std::optional<rank_env> detect_rank_env(const env_lookup& env) {
  struct pair {
    const char* rank;
    const char* size;
  };
  // Open MPI started by srun sets both its own and Slurm's pair; they agree, the first wins.
  for (const pair p : {pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                       pair{"PMI_RANK", "PMI_SIZE"}, pair{"SLURM_PROCID", "SLURM_NTASKS"}}) {
    const auto rank = env(p.rank);
    const auto size = env(p.size);
    if (!rank && !size) continue;
    if (!rank || !size) {
      throw core::input_error(std::string(rank ? p.rank : p.size) + " is set but " +
                              (rank ? p.size : p.rank) + " is not");
    }
    rank_env r;
    r.rank = parse_count(*rank, p.rank);
    r.size = parse_count(*size, p.size);
    if (r.size < 1 || r.rank >= r.size) {
      throw core::input_error(std::string(p.rank) + "=" + *rank + " is not below " + p.size + "=" +
                              *size);
    }
    r.source = std::string(p.rank) + "/" + p.size;
    // The job's identity: PMIx's namespace (Open MPI 4+, srun --mpi=pmix), Open MPI's job id,
    // Slurm's job and step, MPICH hydra's KVS name.
    if (auto ns = env("PMIX_NAMESPACE")) {
      r.job = *ns;
    } else if (auto jobid = env("OMPI_MCA_ess_base_jobid")) {
      r.job = *jobid;
    } else if (auto slurm = env("SLURM_JOB_ID")) {
      r.job = *slurm + "." + env("SLURM_STEP_ID").value_or("");
    } else if (auto kvs = env("PMI_KVSNAME")) {
      r.job = *kvs;
    }
    return r;
  }
  return std::nullopt;
}

std::optional<rank_env> mpi_rank_env(const env_lookup& env) noexcept {
  try {
    auto r = detect_rank_env(env);
    if (r && r->size > 1 && !r->source.starts_with("SLURM_")) return r;
  } catch (const std::exception&) {
    // Malformed variables: pgc rank reports them; launch has no use for them.
  }
  return std::nullopt;
}

}  // namespace pgc::tools
