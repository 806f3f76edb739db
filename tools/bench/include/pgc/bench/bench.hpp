#pragma once

#include "pgc/bench/bench_config.hpp"
#include "pgc/bench/report.hpp"

namespace pgc::bench {

// Runs the configured sections; `out` collects (and echoes) every measurement.
void run(const bench_config& config, report& out);

}  // namespace pgc::bench
