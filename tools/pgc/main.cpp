// The pgc command: one executable, one subcommand per job.
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "pgc/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"pgc: straggler-resilient gradient coding (Ramamoorthy, Meng, Girimaji 2024)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pgc 0.1.0");

  // Each subcommand adds itself to `app`; remember which runner belongs to which subcommand.
  std::map<CLI::App*, pgc::tools::command> commands;
  for (auto add :
       {&pgc::tools::add_assign_command, &pgc::tools::add_sim_command, &pgc::tools::add_ps_command,
        &pgc::tools::add_worker_command, &pgc::tools::add_launch_command,
        &pgc::tools::add_bench_command, &pgc::tools::add_rank_command}) {
    auto run = add(app);
    commands.emplace(app.get_subcommands({}).back(), std::move(run));
  }

  // CLI11 would only say "a subcommand is required"; name the unknown one instead.
  const auto known = [&](const std::string& name) {
    for (const auto& entry : commands) {
      if (entry.first->get_name() == name) return true;
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    std::cerr << "pgc: unknown command '" << argv[1] << "' (commands:";
    for (const auto& entry : commands)
      std::cerr << ' ' << entry.first->get_name();
    std::cerr << ")\n(see pgc --help)\n";
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "pgc: " << e.what() << "\n(see pgc --help)\n";
    return 2;
  }

  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const pgc::core::input_error& e) {
      std::cerr << "pgc " << sub->get_name() << ": " << e.what() << '\n';
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "pgc " << sub->get_name() << ": error: " << e.what() << '\n';
      return 1;
    }
  }
  return 2;
}
