#include "pgc/bench/bench.hpp"

#include "pgc/bench/channel_bench.hpp"
#include "pgc/bench/coding_bench.hpp"
#include "pgc/bench/gather_bench.hpp"
#include "pgc/bench/memory_bench.hpp"

namespace pgc::bench {

void run(const bench_config& config, report& out) {
  config.validate();
  // First, while the process is small and has no other threads: it forks the PS.
  if (config.runs("memory")) run_memory_bench(config, out);
  if (config.runs("coding")) run_coding_bench(config, out);
  if (config.runs("channel")) run_channel_bench(config, out);
  if (config.runs("gather")) run_gather_bench(config, out);
}

}  // namespace pgc::bench
