#pragma once

#include "pgc/bench/bench_config.hpp"
#include "pgc/bench/report.hpp"

namespace pgc::bench {

// The parameter server's peak memory against the bound of 2 x (N x d/ell + d) values:
// a real nodes::parameter_server runs in a forked child process (proposed scheme, cyclic
// assignment, exact mode, a plain gradient step) and N nodes::worker in this process send it
// their coded vectors over loopback TCP. The PS holds no training data: the figure is its
// protocol memory, VmHWM at the end minus VmRSS before the server was built (the high-water
// mark is reset there through /proc/self/clear_refs). ps_peak_memory_vs_bound[_ellE] =
// peak / bound, lower is better, <= 1 meets the target.
void run_memory_bench(const bench_config& config, report& out);

}  // namespace pgc::bench
