// pgc assign: build an assignment and an order, check it, and print the lists, the per-chunk
// replication and Q_max.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "assignment_options.hpp"
#include "commands.hpp"
#include "pgc/coding/assignment.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {
namespace {

struct assign_options {
  assignment_options assignment;
  int ell = 1;
  bool json = false;
};

int run(const assign_options& o) {
  const coding::assignment base = o.assignment.build();
  base.check_ell(o.ell);
  const auto kind = o.assignment.order;
  const coding::ordered result = coding::apply_order(base, kind, o.ell, o.assignment.seed);
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
    out["kind"] = o.assignment.kind;
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

  std::cout << "assignment: " << o.assignment.kind << ", " << a.workers() << " workers, "
            << a.chunks() << " chunks, " << a.total_load() << " chunk copies, ell = " << o.ell
            << '\n'
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
  opts->assignment.add_to(*sub);
  sub->add_option("--ell", opts->ell, "Communication factor ell")->required();
  sub->add_flag("--json", opts->json, "Print one JSON object");
  return [opts] { return run(*opts); };
}

}  // namespace pgc::tools
