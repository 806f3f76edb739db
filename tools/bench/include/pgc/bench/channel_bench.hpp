#pragma once

#include "pgc/bench/bench_config.hpp"
#include "pgc/bench/report.hpp"

namespace pgc::bench {

// The framed channel against a raw Asio socket moving the same bytes over loopback TCP, sender
// and receiver on their own io threads: channel_vs_raw = raw time / channel time.
void run_channel_bench(const bench_config& config, report& out);

}  // namespace pgc::bench
