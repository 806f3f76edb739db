#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace pgc::tools {

// A subcommand registers its options on `app` and returns the function that runs it; the
// function returns the process exit code (0 ok, 1 failure, 2 bad arguments).
using command = std::function<int()>;

command add_assign_command(CLI::App& app);
command add_sim_command(CLI::App& app);
command add_ps_command(CLI::App& app);
command add_worker_command(CLI::App& app);
command add_launch_command(CLI::App& app);
command add_bench_command(CLI::App& app);
command add_rank_command(CLI::App& app);

}  // namespace pgc::tools
