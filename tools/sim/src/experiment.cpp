#include "pgc/sim/experiment.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include <Eigen/Core>

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/baselines.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/coding/polynomial_code.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/core/error.hpp"
#include "pgc/sim/approximate.hpp"
#include "pgc/sim/completion_calculator.hpp"
#include "pgc/sim/statistics.hpp"

namespace pgc::sim {

using core::input_error;

std::size_t table::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  throw std::out_of_range("no column '" + std::string(name) + "' in table " + this->name);
}

namespace {

// Streams of derive_seed below this are trials; setup draws use streams from here on.
constexpr std::uint64_t k_setup_stream = 1ULL << 62;

struct progress_meter {
  const experiment_config& config;
  long long total;
  long long done = 0;
  void step(long long n = 1) {
    done += n;
    if (config.progress) config.progress(done, total);
  }
};

std::vector<cell> summary_cells(const summary& s) {
  return {s.mean, s.stddev, s.median, s.q05, s.q95, static_cast<std::int64_t>(s.infinite)};
}
const std::vector<std::string> k_summary_columns{"mean", "std", "median", "q05", "q95", "never"};

std::vector<std::string> with_summary(std::vector<std::string> head) {
  head.insert(head.end(), k_summary_columns.begin(), k_summary_columns.end());
  return head;
}

std::string fmt(double v, int precision = 3) {
  if (std::isinf(v)) return "inf";
  std::ostringstream out;
  out << std::setprecision(precision) << v;
  return out.str();
}

// "mean [q05, q95]"
std::string spread(const summary& s, int precision = 3) {
  return fmt(s.mean, precision) + " [" + fmt(s.q05, precision) + ", " + fmt(s.q95, precision) + "]";
}

// Left-aligned columns for the stdout table.
std::string format_rows(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()), 0);
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

// Per-trial ratios a/b over the trials where both are finite.
std::vector<double> ratios(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  for (std::size_t t = 0; t < a.size(); ++t) {
    if (std::isfinite(a[t]) && std::isfinite(b[t]) && b[t] > 0.0) out.push_back(a[t] / b[t]);
  }
  return out;
}

summary summarize_or_empty(std::vector<double> v) {
  if (v.empty()) {
    summary s;
    s.mean = s.stddev = s.median = s.q05 = s.q95 = s.min = s.max = std::nan("");
    return s;
  }
  return summarize(std::move(v));
}

struct setup {
  int workers;
  int load;
  std::vector<int> ells;
  int trials;
};

setup resolve(const experiment_config& c, int workers, int load, int trials) {
  setup s{c.workers > 0 ? c.workers : workers, c.load > 0 ? c.load : load, c.ells,
          c.trials > 0 ? c.trials : trials};
  if (c.workers < 0 || c.load < 0 || c.trials < 0) {
    throw input_error("--workers, --load and --trials must be positive");
  }
  if (s.load > s.workers) {
    throw input_error("--load " + std::to_string(s.load) + " exceeds --workers " +
                      std::to_string(s.workers));
  }
  if (s.ells.empty()) {
    for (int ell = 1; ell <= s.load; ++ell)
      s.ells.push_back(ell);
  }
  for (int ell : s.ells) {
    if (ell < 1 || ell > s.load) {
      throw input_error("--ell " + std::to_string(ell) +
                        " must be in [1, load = " + std::to_string(s.load) + "]");
    }
  }
  c.model.validate();
  return s;
}

std::vector<std::pair<std::string, std::string>> parameters(const experiment_config& c,
                                                            const setup& s) {
  std::string ells;
  for (int ell : s.ells)
    ells += (ells.empty() ? "" : ",") + std::to_string(ell);
  const auto& m = c.model;
  std::string model = std::string(to_string(m.distribution));
  if (m.distribution == delay_distribution::shifted_exponential) {
    model += " shift " + fmt(m.shift) + " rate " + fmt(m.rate);
  } else {
    model += " scale " + fmt(m.pareto_scale) + " alpha " + fmt(m.pareto_alpha);
  }
  model += ", slow fraction " + fmt(m.slow_fraction) + " x" + fmt(m.slow_factor) +
           ", fail fraction " + fmt(m.fail_fraction);
  return {
      {"workers", std::to_string(s.workers)}, {"load", std::to_string(s.load)}, {"ells", ells},
      {"trials", std::to_string(s.trials)},   {"seed", std::to_string(c.seed)}, {"model", model}};
}

// Mean chunk time of the base distribution (for the automatic deadline grid).
double mean_chunk_time(const straggler_model& m) {
  if (m.distribution == delay_distribution::shifted_exponential) return m.shift + 1.0 / m.rate;
  if (m.pareto_alpha > 1.0) return m.pareto_scale * m.pareto_alpha / (m.pareto_alpha - 1.0);
  return 2.0 * m.pareto_scale;  // infinite mean: any positive scale will do for a grid
}

// ---- time-vs-ell -------------------------------------------------------------------------

experiment_result time_vs_ell(const experiment_config& c) {
  const setup s = resolve(c, 100, 5, 1000);
  experiment_result out{"time-vs-ell", parameters(c, s), {}, {}, {}};

  // The cyclic order (worker i: i, i+1, ...) already puts every chunk at every position once,
  // which is optimal; the random regular assignment gets the matching order.
  std::vector<std::string> arm_names{"cyclic", "regular"};
  std::vector<coding::assignment> arms;
  arms.push_back(coding::cyclic(s.workers, s.load));
  arms.push_back(coding::apply_order(
                     coding::random_regular(s.workers, s.load, derive_seed(c.seed, k_setup_stream)),
                     coding::order_kind::optimal, 1, c.seed)
                     .tasks);
  const std::size_t n_ell = s.ells.size();
  std::vector<std::vector<completion_calculator>> calc(arms.size());
  for (std::size_t a = 0; a < arms.size(); ++a) {
    for (int ell : s.ells)
      calc[a].emplace_back(arms[a], ell);
  }
  const auto trials = static_cast<std::size_t>(s.trials);
  std::vector<std::vector<std::vector<double>>> proposed(
      arms.size(), std::vector<std::vector<double>>(n_ell, std::vector<double>(trials)));
  std::vector<std::vector<double>> original(n_ell, std::vector<double>(trials));
  std::vector<std::vector<double>> ignore(n_ell, std::vector<double>(trials));
  std::vector<double> uncoded(trials);

  progress_meter meter{c, s.trials};
  chunk_times times(arms[0]);
  for (std::size_t t = 0; t < trials; ++t) {
    std::mt19937_64 rng(derive_seed(c.seed, t));
    c.model.sample(rng, times);
    for (std::size_t e = 0; e < n_ell; ++e) {
      for (std::size_t a = 0; a < arms.size(); ++a)
        proposed[a][e][t] = calc[a][e].proposed(times);
      const int stragglers = s.load - s.ells[e];
      original[e][t] = calc[0][e].original(times, stragglers);
      ignore[e][t] = calc[0][e].ignore_stragglers(times, stragglers);
    }
    uncoded[t] = calc[0][0].uncoded(times);
    meter.step();
  }

  table times_table{"time_vs_ell", with_summary({"assignment", "ell", "scheme"}), {}};
  table ratio_table{"time_ratio", with_summary({"assignment", "ell"}), {}};
  const auto add = [](table& tb, std::vector<cell> head, const summary& sm) {
    auto cells = summary_cells(sm);
    head.insert(head.end(), cells.begin(), cells.end());
    tb.rows.push_back(std::move(head));
  };
  std::vector<std::vector<std::string>> text{{"ell", "s", "proposed cyclic", "proposed regular",
                                              "original", "ratio cyclic", "ratio regular"}};
  const summary unc = summarize(uncoded);
  for (std::size_t e = 0; e < n_ell; ++e) {
    const auto ell = static_cast<std::int64_t>(s.ells[e]);
    std::vector<std::string> line{std::to_string(ell), std::to_string(s.load - s.ells[e])};
    std::vector<summary> ratio_summaries;
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const summary p = summarize(proposed[a][e]);
      add(times_table, {arm_names[a], ell, std::string("proposed")}, p);
      line.push_back(spread(p));
      ratio_summaries.push_back(summarize_or_empty(ratios(proposed[a][e], original[e])));
      add(ratio_table, {arm_names[a], ell}, ratio_summaries.back());
    }
    const summary o = summarize(original[e]);
    add(times_table, {std::string("cyclic"), ell, std::string("original")}, o);
    add(times_table, {std::string("one-chunk"), ell, std::string("ignore_stragglers")},
        summarize(ignore[e]));
    add(times_table, {std::string("one-chunk"), ell, std::string("uncoded")}, unc);
    line.push_back(spread(o));
    for (const auto& r : ratio_summaries)
      line.push_back(spread(r));
    text.push_back(std::move(line));
  }
  out.text = "completion time, mean [5%, 95%] over " + std::to_string(s.trials) +
             " trials; ratio = proposed / original per trial\n" + format_rows(text);
  out.tables = {std::move(times_table), std::move(ratio_table)};

  plot p{"time_vs_ell",
         "time_vs_ell",
         "Exact completion time vs ell (N = " + std::to_string(s.workers) + ", load " +
             std::to_string(s.load) + ")",
         "ell",
         "communication factor ell",
         "completion time (mean, 5-95%)",
         false,
         {}};
  p.lines.push_back({"proposed, cyclic",
                     {{"assignment", "cyclic"}, {"scheme", "proposed"}},
                     "mean",
                     "q05",
                     "q95"});
  p.lines.push_back({"proposed, random regular",
                     {{"assignment", "regular"}, {"scheme", "proposed"}},
                     "mean",
                     "q05",
                     "q95"});
  p.lines.push_back({"original", {{"scheme", "original"}}, "mean", "q05", "q95"});
  out.plots.push_back(std::move(p));
  plot r{"time_ratio",
         "time_ratio",
         "Completion time ratio proposed / original",
         "ell",
         "communication factor ell",
         "ratio (mean, 5-95%)",
         false,
         {}};
  r.lines.push_back({"cyclic", {{"assignment", "cyclic"}}, "mean", "q05", "q95"});
  r.lines.push_back({"random regular", {{"assignment", "regular"}}, "mean", "q05", "q95"});
  out.plots.push_back(std::move(r));
  return out;
}

// ---- error-vs-deadline -------------------------------------------------------------------

experiment_result error_vs_deadline(const experiment_config& c) {
  experiment_config cc = c;
  if (cc.ells.empty()) cc.ells = {1, 2, 3};
  const setup s = resolve(cc, 20, 4, 200);
  experiment_result out{"error-vs-deadline", parameters(c, s), {}, {}, {}};
  std::vector<double> deadlines = c.deadlines;
  if (deadlines.empty()) {
    const double mu = mean_chunk_time(c.model);
    for (int k = 1; k <= 3 * s.load; ++k)
      deadlines.push_back(0.5 * k * mu);
  }
  for (double t : deadlines) {
    if (!std::isfinite(t) || t < 0.0) throw input_error("deadlines must be finite and >= 0");
  }
  out.parameters.emplace_back("deadlines", std::to_string(deadlines.size()) + " values");

  const coding::assignment tasks = coding::cyclic(s.workers, s.load);
  std::vector<std::unique_ptr<coding::scheme>> originals;
  for (int ell : s.ells) {
    originals.push_back(
        coding::make_original(s.workers, s.load, ell, derive_seed(c.seed, k_setup_stream)));
  }
  const std::size_t n_ell = s.ells.size();
  const std::size_t n_t = deadlines.size();
  const auto trials = static_cast<std::size_t>(s.trials);
  // [ell][deadline][trial]
  auto grid = [&] {
    return std::vector<std::vector<std::vector<double>>>(
        n_ell, std::vector<std::vector<double>>(n_t, std::vector<double>(trials)));
  };
  auto prop = grid();
  auto orig = grid();

  progress_meter meter{c, static_cast<long long>(trials * n_ell)};
  chunk_times times(tasks);
  coding::state_vector state;
  coding::state_vector finished_state;
  for (std::size_t t = 0; t < trials; ++t) {
    std::mt19937_64 rng(derive_seed(c.seed, t));
    c.model.sample(rng, times);
    for (std::size_t e = 0; e < n_ell; ++e) {
      const int ell = s.ells[e];
      const int needed = s.workers - (s.load - ell);
      const coding::scheme& code = *originals[e];
      // The original only sees whole lists, and the set of finishers only grows with T: solve
      // again only when it changed.
      coding::state_vector last;
      double last_error = 1.0;
      for (std::size_t k = 0; k < n_t; ++k) {
        times.state_at(deadlines[k], state);
        prop[e][k][t] = proposed_error(tasks, ell, state);
        finished_state = state;
        int finishers = 0;
        for (int w = 0; w < s.workers; ++w) {
          auto& v = finished_state[static_cast<std::size_t>(w)];
          if (v == tasks.load(w)) {
            ++finishers;
          } else {
            v = 0;
          }
        }
        if (finishers >= needed) {
          last_error = 0.0;
        } else if (finished_state != last) {
          last_error = least_squares_error(code, finished_state);
        }
        last = finished_state;
        orig[e][k][t] = last_error;
      }
      meter.step();
    }
  }

  table errors{"error_vs_deadline", with_summary({"ell", "deadline", "scheme"}), {}};
  table ratio{"error_ratio",
              {"ell", "deadline", "proposed_mean", "original_mean", "original_over_proposed"},
              {}};
  std::vector<std::vector<std::string>> text{
      {"ell", "T", "proposed mean error", "original mean error", "original / proposed"}};
  for (std::size_t e = 0; e < n_ell; ++e) {
    const auto ell = static_cast<std::int64_t>(s.ells[e]);
    for (std::size_t k = 0; k < n_t; ++k) {
      const summary p = summarize(prop[e][k]);
      const summary o = summarize(orig[e][k]);
      for (const auto& [name, sm] : {std::pair{"proposed", p}, std::pair{"original", o}}) {
        std::vector<cell> row{ell, deadlines[k], std::string(name)};
        const auto cells = summary_cells(sm);
        row.insert(row.end(), cells.begin(), cells.end());
        errors.rows.push_back(std::move(row));
      }
      const double r = p.mean > 0.0 ? o.mean / p.mean : (o.mean > 0.0 ? HUGE_VAL : std::nan(""));
      ratio.rows.push_back({ell, deadlines[k], p.mean, o.mean, r});
      text.push_back({std::to_string(ell), fmt(deadlines[k]), fmt(p.mean), fmt(o.mean),
                      std::isnan(r) ? "-" : fmt(r)});
    }
  }
  out.text = "normalized squared error at deadline T (mean over " + std::to_string(s.trials) +
             " trials; original decodes by least squares from the finishers)\n" + format_rows(text);
  out.tables = {std::move(errors), std::move(ratio)};

  plot p{"error_vs_deadline",
         "error_vs_deadline",
         "Normalized error vs deadline (N = " + std::to_string(s.workers) + ", load " +
             std::to_string(s.load) + ")",
         "deadline",
         "deadline T",
         "mean normalized squared error",
         true,
         {}};
  for (int ell : s.ells) {
    for (const char* scheme : {"proposed", "original"}) {
      p.lines.push_back({std::string(scheme) + ", ell = " + std::to_string(ell),
                         {{"ell", std::to_string(ell)}, {"scheme", scheme}},
                         "mean",
                         "",
                         ""});
    }
  }
  out.plots.push_back(std::move(p));
  return out;
}

// ---- ordering ----------------------------------------------------------------------------

experiment_result ordering(const experiment_config& c) {
  const setup s = resolve(c, 100, 5, 500);
  experiment_result out{"ordering", parameters(c, s), {}, {}, {}};
  const coding::assignment base =
      coding::random_regular(s.workers, s.load, derive_seed(c.seed, k_setup_stream));
  const coding::assignment best = coding::order_regular_optimal(base);
  const std::size_t n_ell = s.ells.size();
  const auto trials = static_cast<std::size_t>(s.trials);
  std::vector<completion_calculator> best_calc;
  for (int ell : s.ells)
    best_calc.emplace_back(best, ell);
  std::vector<std::vector<double>> t_best(n_ell, std::vector<double>(trials));
  std::vector<std::vector<double>> t_random(n_ell, std::vector<double>(trials));
  std::vector<std::vector<double>> q_random(n_ell, std::vector<double>(trials));

  progress_meter meter{c, s.trials};
  chunk_times times(base);
  for (std::size_t t = 0; t < trials; ++t) {
    // A fresh random order every trial, so the result is about random orders, not one of them.
    const coding::assignment shuffled =
        coding::order_random(base, derive_seed(c.seed, k_setup_stream + 1 + t));
    std::mt19937_64 rng(derive_seed(c.seed, t));
    c.model.sample(rng, times);
    for (std::size_t e = 0; e < n_ell; ++e) {
      completion_calculator calc(shuffled, s.ells[e]);
      t_random[e][t] = calc.proposed(times);
      t_best[e][t] = best_calc[e].proposed(times);
      q_random[e][t] = static_cast<double>(coding::q_max(shuffled, s.ells[e]));
    }
    meter.step();
  }

  table tb{"ordering", with_summary({"ell", "order", "qmax_mean", "qmax_min", "qmax_max"}), {}};
  table ratio{"ordering_ratio", with_summary({"ell"}), {}};
  std::vector<std::vector<std::string>> text{{"ell", "Q_max optimal", "Q_max random (mean)",
                                              "time optimal", "time random", "random / optimal"}};
  for (std::size_t e = 0; e < n_ell; ++e) {
    const auto ell = static_cast<std::int64_t>(s.ells[e]);
    const auto q_best = static_cast<double>(coding::q_max(best, s.ells[e]));
    const summary qr = summarize(q_random[e]);
    const summary tb_best = summarize(t_best[e]);
    const summary tb_random = summarize(t_random[e]);
    const summary r = summarize_or_empty(ratios(t_random[e], t_best[e]));
    auto row = [&](const char* order, double qm, double qmin, double qmax, const summary& sm) {
      std::vector<cell> cells{ell, std::string(order), qm, qmin, qmax};
      const auto more = summary_cells(sm);
      cells.insert(cells.end(), more.begin(), more.end());
      tb.rows.push_back(std::move(cells));
    };
    row("optimal", q_best, q_best, q_best, tb_best);
    row("random", qr.mean, qr.min, qr.max, tb_random);
    std::vector<cell> rr{ell};
    const auto more = summary_cells(r);
    rr.insert(rr.end(), more.begin(), more.end());
    ratio.rows.push_back(std::move(rr));
    text.push_back({std::to_string(ell), fmt(q_best, 6), fmt(qr.mean, 6), spread(tb_best),
                    spread(tb_random), spread(r)});
  }
  out.text =
      "optimal (matchings) vs random chunk order on a random regular assignment; time = "
      "proposed exact completion, mean [5%, 95%]\n" +
      format_rows(text);
  out.tables = {std::move(tb), std::move(ratio)};
  plot p{"ordering_time",
         "ordering",
         "Proposed completion time: optimal vs random order",
         "ell",
         "communication factor ell",
         "completion time (mean, 5-95%)",
         false,
         {}};
  p.lines.push_back({"optimal order", {{"order", "optimal"}}, "mean", "q05", "q95"});
  p.lines.push_back({"random order", {{"order", "random"}}, "mean", "q05", "q95"});
  out.plots.push_back(std::move(p));
  plot q{"ordering_qmax",
         "ordering",
         "Q_max: optimal vs random order",
         "ell",
         "communication factor ell",
         "Q_max (random: mean, min-max)",
         false,
         {}};
  q.lines.push_back({"optimal order", {{"order", "optimal"}}, "qmax_mean", "", ""});
  q.lines.push_back({"random order", {{"order", "random"}}, "qmax_mean", "qmax_min", "qmax_max"});
  out.plots.push_back(std::move(q));
  return out;
}

// ---- polynomial --------------------------------------------------------------------------

// Relative decoding error |decode - g| / |g| of `code` with random chunk gradients when the
// workers in `finishers` have finished their lists and nobody else has done anything.
double relative_error(const coding::scheme& code, const std::vector<int>& finishers,
                      const Eigen::MatrixXd& gradients) {
  coding::state_vector state(static_cast<std::size_t>(code.workers()), 0);
  for (int w : finishers)
    state[static_cast<std::size_t>(w)] = code.tasks().load(w);
  const auto d = static_cast<int>(gradients.rows());
  const std::vector<int> from = code.senders(state);
  Eigen::MatrixXd coded(coding::block_layout{d, code.ell()}.block(),
                        static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t) {
    const auto list = code.tasks().list(from[t]);
    Eigen::MatrixXd mine(d, static_cast<Eigen::Index>(list.size()));
    for (std::size_t p = 0; p < list.size(); ++p) {
      mine.col(static_cast<Eigen::Index>(p)) = gradients.col(list[p]);
    }
    coded.col(static_cast<Eigen::Index>(t)) = coding::encode(code, from[t], state, mine);
  }
  const Eigen::VectorXd g = gradients.rowwise().sum();
  const Eigen::VectorXd got = coding::decode(code, state, from, coded, d);
  const double err = (got - g).norm() / g.norm();
  return std::isfinite(err) ? err : HUGE_VAL;
}

experiment_result polynomial(const experiment_config& c) {
  experiment_config cc = c;
  const int max_workers = c.workers > 0 ? c.workers : 40;
  cc.workers = max_workers;
  if (cc.ells.empty()) cc.ells = {2};
  const setup s = resolve(cc, 40, c.load > 0 ? c.load : cc.ells.front() + 2, 20);
  if (s.ells.size() != 1) throw input_error("--experiment polynomial takes a single --ell");
  const int ell = s.ells.front();
  const int stragglers = s.load - ell;
  experiment_result out{"polynomial", parameters(cc, s), {}, {}, {}};
  out.parameters.emplace_back("stragglers", std::to_string(stragglers));

  std::vector<int> sizes;
  for (int n = std::max(s.load + 2, 6); n <= max_workers; n += 2)
    sizes.push_back(n);
  if (sizes.empty()) throw input_error("--workers must exceed load + 1 for this experiment");
  const int d = 10 * ell;

  table tb{"polynomial", {"workers", "scheme", "median", "q95", "max"}, {}};
  std::vector<std::vector<std::string>> text{
      {"N", "polynomial equispaced", "polynomial chebyshev", "proposed (least squares)"}};
  progress_meter meter{c, static_cast<long long>(sizes.size()) * s.trials};
  for (int n : sizes) {
    const coding::polynomial_code equi(n, s.load, ell);
    const coding::polynomial_code cheb(n, s.load, ell, coding::evaluation_points::chebyshev);
    const coding::proposed ours(
        coding::cyclic(n, s.load), ell,
        derive_seed(c.seed, k_setup_stream + static_cast<std::uint64_t>(n)));
    std::vector<std::vector<double>> errs(3);
    for (int t = 0; t < s.trials; ++t) {
      std::mt19937_64 rng(derive_seed(
          c.seed, static_cast<std::uint64_t>(n) * 1000003ULL + static_cast<std::uint64_t>(t)));
      std::normal_distribution<double> normal;
      Eigen::MatrixXd gradients(d, n);
      for (Eigen::Index j = 0; j < n; ++j) {
        for (Eigen::Index i = 0; i < d; ++i)
          gradients(i, j) = normal(rng);
      }
      std::vector<int> workers(static_cast<std::size_t>(n));
      std::iota(workers.begin(), workers.end(), 0);
      std::shuffle(workers.begin(), workers.end(), rng);
      workers.resize(static_cast<std::size_t>(n - stragglers));
      std::sort(workers.begin(), workers.end());
      errs[0].push_back(relative_error(equi, workers, gradients));
      errs[1].push_back(relative_error(cheb, workers, gradients));
      errs[2].push_back(relative_error(ours, workers, gradients));
      meter.step();
    }
    const char* names[] = {"polynomial-equispaced", "polynomial-chebyshev", "proposed"};
    std::vector<std::string> line{std::to_string(n)};
    for (std::size_t k = 0; k < 3; ++k) {
      const summary sm = summarize(errs[k]);
      tb.rows.push_back(
          {static_cast<std::int64_t>(n), std::string(names[k]), sm.median, sm.q95, sm.max});
      line.push_back(fmt(sm.median, 2) + " (max " + fmt(sm.max, 2) + ")");
    }
    text.push_back(std::move(line));
  }
  out.text = "relative decoding error |decode - g| / |g| from N - s random finishers (s = " +
             std::to_string(stragglers) + ", ell = " + std::to_string(ell) + "), median over " +
             std::to_string(s.trials) + " trials\n" + format_rows(text);
  out.tables = {std::move(tb)};
  plot p{"polynomial",
         "polynomial",
         "Decoding error: polynomial code vs proposed (s = " + std::to_string(stragglers) +
             ", ell = " + std::to_string(ell) + ")",
         "workers",
         "workers N",
         "relative error (median)",
         true,
         {}};
  p.lines.push_back(
      {"polynomial, equispaced points", {{"scheme", "polynomial-equispaced"}}, "median", "", ""});
  p.lines.push_back(
      {"polynomial, Chebyshev points", {{"scheme", "polynomial-chebyshev"}}, "median", "", ""});
  p.lines.push_back({"proposed (pseudo-inverse)", {{"scheme", "proposed"}}, "median", "", ""});
  out.plots.push_back(std::move(p));
  return out;
}

}  // namespace

std::vector<std::string_view> experiment_names() {
  return {"time-vs-ell", "error-vs-deadline", "ordering", "polynomial"};
}

experiment_result run_experiment(std::string_view name, const experiment_config& config) {
  if (name == "time-vs-ell") return time_vs_ell(config);
  if (name == "error-vs-deadline") return error_vs_deadline(config);
  if (name == "ordering") return ordering(config);
  if (name == "polynomial") return polynomial(config);
  std::string valid;
  for (auto n : experiment_names())
    valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw input_error("unknown experiment '" + std::string(name) + "' (" + valid + ")");
}

}  // namespace pgc::sim
