// pgc assign: build an assignment and an order, check it, and print the lists, the per-chunk
// replication and Q_max.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "commands.hpp"
#include "pgc/coding/assignment.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {
namespace {

struct assign_options {
  std::string kind = "cyclic";
  int workers = 0;
  int chunks = 0;
  int load = 0;
  std::string file;
  std::uint64_t seed = 1;
  std::string order = "keep";
  int ell = 1;
  bool json = false;
};

coding::assignment build(const assign_options& o) {
  using core::input_error;
  if (o.kind == "file") {
    if (o.file.empty()) throw input_error("--kind file needs --file PATH");
    std::ifstream in(o.file);
    if (!in) throw input_error("cannot open assignment file '" + o.file + "'");
    std::ostringstream text;
    text << in.rdbuf();
    auto a = coding::parse_assignment(text.str(), o.chunks);
    if (o.workers != 0 && o.workers != a.workers()) {
      throw input_error("--workers " + std::to_string(o.workers) + " but '" + o.file + "' has " +
                        std::to_string(a.workers()) + " workers");
    }
    return a;
  }
  if (!o.file.empty()) throw input_error("--file is only for --kind file");
  if (o.workers < 1) throw input_error("--workers must be at least 1");
  if (o.load < 1) throw input_error("--load must be at least 1");
  if (o.kind == "cyclic")
    return coding::cyclic(o.workers, o.load, o.chunks == 0 ? o.workers : o.chunks);
  if (o.chunks != 0 && o.chunks != o.workers) {
    throw input_error("--kind " + o.kind +
                      " has one chunk per worker: --chunks must equal --workers");
  }
  if (o.kind == "frc") return coding::fractional_repetition(o.workers, o.load);
  if (o.kind == "regular") return coding::random_regular(o.workers, o.load, o.seed);
  throw input_error("unknown --kind '" + o.kind + "' (cyclic, frc, regular, file)");
}

int run(const assign_options& o) {
  const coding::assignment base = build(o);
  base.check_ell(o.ell);
  const auto kind = coding::parse_order_kind(o.order);
  const coding::ordered result = coding::apply_order(base, kind, o.ell, o.seed);
  const coding::assignment& a = result.tasks;
  const std::int64_t qmax = coding::q_max(a, o.ell);

  std::vector<int> replication;
  for (int c = 0; c < a.chunks(); ++c)
    replication.push_back(a.replication(c));
  int max_load = 0;
  for (int w = 0; w < a.workers(); ++w)
    max_load = std::max(max_load, a.load(w));

  if (o.json) {
    boost::json::object out;
    out["kind"] = o.kind;
    out["workers"] = a.workers();
    out["chunks"] = a.chunks();
    out["ell"] = o.ell;
    out["order"] = coding::to_string(kind);
    out["order_method"] = result.method;
    out["regular"] = a.is_regular();
    out["qmax"] = qmax;
    if (a.is_regular()) {
      out["qmax_balanced_order"] = coding::q_max_balanced_order(a.workers(), a.load(0), o.ell);
    }
    out["total_load"] = a.total_load();
    boost::json::array lists;
    for (const auto& l : a.lists())
      lists.emplace_back(boost::json::array(l.begin(), l.end()));
    out["lists"] = std::move(lists);
    out["replication"] = boost::json::array(replication.begin(), replication.end());
    std::cout << boost::json::serialize(out) << '\n';
    return 0;
  }

  std::cout << "assignment: " << o.kind << ", " << a.workers() << " workers, " << a.chunks()
            << " chunks, " << a.total_load() << " chunk copies, ell = " << o.ell << '\n'
            << "order: " << coding::to_string(kind) << " (" << result.method << ")\n";
  const int width = static_cast<int>(std::to_string(a.workers() - 1).size());
  for (int w = 0; w < a.workers(); ++w) {
    std::string id = std::to_string(w);
    std::cout << "worker " << std::string(static_cast<std::size_t>(width) - id.size(), ' ') << id
              << ':';
    if (a.load(w) == 0) std::cout << " -";
    for (int c : a.list(w))
      std::cout << ' ' << c;
    std::cout << '\n';
  }
  std::cout << "replication per chunk:";
  for (int r : replication)
    std::cout << ' ' << r;
  std::cout << "\nQ_max = " << qmax << " of " << a.total_load() << " chunk copies";
  if (a.is_regular()) {
    std::cout << " (balanced order: " << coding::q_max_balanced_order(a.workers(), a.load(0), o.ell)
              << ")";
  }
  std::cout << '\n';
  return 0;
}

}  // namespace

command add_assign_command(CLI::App& app) {
  auto opts = std::make_shared<assign_options>();
  auto* sub =
      app.add_subcommand("assign", "Build a chunk assignment and order, print its lists and Q_max");
  sub->add_option("--kind", opts->kind, "cyclic | frc | regular | file")
      ->check(CLI::IsMember({"cyclic", "frc", "regular", "file"}))
      ->capture_default_str();
  sub->add_option("--workers", opts->workers, "Number of workers N");
  sub->add_option("--chunks", opts->chunks, "Number of chunks m (default: N, or from the file)");
  sub->add_option("--load", opts->load, "Chunks per worker (delta)");
  sub->add_option("--file", opts->file, "Assignment file: one line per worker, chunk ids in order");
  sub->add_option("--seed", opts->seed, "Seed for regular and random orders")
      ->capture_default_str();
  sub->add_option("--order", opts->order, "keep | random | optimal | heuristic")
      ->check(CLI::IsMember({"keep", "random", "optimal", "heuristic"}))
      ->capture_default_str();
  sub->add_option("--ell", opts->ell, "Communication factor ell")->required();
  sub->add_flag("--json", opts->json, "Print one JSON object");
  return [opts] { return run(*opts); };
}

}  // namespace pgc::tools
