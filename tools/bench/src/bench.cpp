#include "pgc/bench/bench.hpp"

#include "pgc/bench/channel_bench.hpp"
#include "pgc/bench/coding_bench.hpp"
#include "pgc/bench/gather_bench.hpp"

namespace pgc::bench {

void run(const bench_config& config, report& out) {
  config.validate();
  if (config.runs("coding")) run_coding_bench(config, out);
  if (config.runs("channel")) run_channel_bench(config, out);
  if (config.runs("gather")) run_gather_bench(config, out);
}

}  // namespace pgc::bench
