#pragma once

#include "pgc/bench/bench_config.hpp"
#include "pgc/bench/report.hpp"

namespace pgc::bench {

// The coding math on one core: the proposed scheme's coefficient solve per chunk
// (coef_solve_us_ellE_hH), the worker encode against a plain axpy over the same data
// (encode_vs_axpy), the PS decode against the same (decode_vs_axpy) and progress tracker
// updates (tracker_update_ns).
void run_coding_bench(const bench_config& config, report& out);

}  // namespace pgc::bench
