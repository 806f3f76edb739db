// A ps_machine and N worker_machines driven together through a simulated bus in random orders:
// FIFO channels per direction, chunk computations that finish at random moments, workers lost
// and rejoining, deadlines, and stale messages injected from the past. Real chunk gradients are
// encoded and decoded with the coding module.
#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <Eigen/Dense>
#include <doctest/doctest.h>

#include "pgc/coding/scheme.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/scheme_spec.hpp"
#include "pgc/nodes/worker_machine.hpp"

using namespace pgc;
using namespace pgc::nodes;

namespace {

using to_worker = std::variant<worker_machine::welcome, worker_machine::start_iteration,
                               worker_machine::encode_and_transmit, worker_machine::shutdown>;
using to_ps = std::variant<ps_machine::progress, ps_machine::encoded>;

struct run_options {
  scheme_spec spec;
  signal_mode mode = signal_mode::exact;
  int dimension = 13;
  std::uint64_t iterations = 6;
  int max_losses = 3;
  bool inject_stale = false;
  std::uint64_t seed = 1;
};

// What the PS decoded, minus the counters that stale messages are allowed to change.
struct outcome {
  std::uint64_t iteration;
  std::uint32_t epoch;
  coding::state_vector state;
  std::vector<int> from;
  Eigen::MatrixXd coded;
  bool exact;
  double measured_error;  // |g - decoded|^2 / |g|^2
  double expected_error;
};

struct run_result {
  std::vector<outcome> outcomes;
  long long stale_dropped = 0;
  long long injected = 0;
  int resumes = 0;      // StartIteration again after a lost sender
  int resignals = 0;    // decodes at epoch > 0
  int by_deadline = 0;  // decodes signalled at the deadline without exact readiness
  bool finished = false;
};

// The gradient of chunk j at iteration k: the same on every worker that computes it.
Eigen::VectorXd chunk_gradient(std::uint64_t seed, std::uint64_t iteration, int chunk, int d) {
  std::mt19937_64 rng(seed * 1000003ULL + iteration * 7919ULL + static_cast<std::uint64_t>(chunk));
  std::normal_distribution<double> normal;
  Eigen::VectorXd g(d);
  for (int r = 0; r < d; ++r)
    g(r) = normal(rng);
  return g;
}

ps_config machine_config(const run_options& opt, std::shared_ptr<const coding::scheme> code) {
  ps_config c;
  c.code = std::move(code);
  c.protocol.scheme = opt.spec;
  c.protocol.mode = opt.mode;
  c.protocol.deadline = std::chrono::milliseconds(50);
  c.protocol.dimension = opt.dimension;
  c.run.iterations = opt.iterations;
  return c;
}

class cluster {
 public:
  explicit cluster(const run_options& opt)
      : opt_(opt),
        code_(make_scheme(opt.spec)),
        ps_(machine_config(opt, code_)),
        nodes_(static_cast<std::size_t>(code_->workers())),
        rng_(opt.seed),
        stale_rng_(opt.seed ^ 0x9e3779b97f4a7c15ULL) {}

  run_result run() {
    pending_model_ = 0;
    for (int step = 0; step < 200000 && !result_.finished; ++step) {
      if (opt_.inject_stale) inject_stale();
      if (!this->step()) break;
    }
    result_.stale_dropped = ps_.stale_dropped();
    return result_;
  }

 private:
  struct node {
    worker_machine machine;
    bool connected = false;
    std::deque<to_worker> inbox;
    std::deque<to_ps> outbox;
    std::vector<worker_machine::compute_chunk> running;  // on the "pool"
    std::map<std::uint64_t, std::vector<Eigen::VectorXd>> kept;
    std::map<std::uint64_t, Eigen::VectorXd> results;  // ticket -> finished, not yet kept
  };

  enum class choice { to_worker, to_ps, compute, deadline, model, lose, join };

  bool step() {
    std::vector<std::pair<choice, int>> options;
    const int n = code_->workers();
    for (int w = 0; w < n; ++w) {
      const auto& nd = nodes_[static_cast<std::size_t>(w)];
      if (!nd.inbox.empty()) options.emplace_back(choice::to_worker, w);
      if (!nd.outbox.empty()) options.emplace_back(choice::to_ps, w);
      for (std::size_t k = 0; k < nd.running.size(); ++k)
        options.emplace_back(choice::compute, w);
      if (!nd.connected) options.emplace_back(choice::join, w);
      if (nd.connected && losses_ < opt_.max_losses &&
          ps_.current_phase() != ps_machine::phase::finished) {
        // Rare, so that iterations also finish without losses.
        if (std::uniform_int_distribution<int>(0, 60)(rng_) == 0) {
          options.emplace_back(choice::lose, w);
        }
      }
    }
    if (deadline_armed_) options.emplace_back(choice::deadline, 0);
    if (pending_model_) options.emplace_back(choice::model, 0);
    if (options.empty()) return false;
    const auto [what, w] =
        options[std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(rng_)];
    auto& nd = nodes_[static_cast<std::size_t>(w)];
    switch (what) {
      case choice::to_worker: {
        to_worker m = std::move(nd.inbox.front());
        nd.inbox.pop_front();
        std::visit([&](auto& ev) { worker_actions(w, nd.machine.on(std::move(ev))); }, m);
        break;
      }
      case choice::to_ps: {
        to_ps m = std::move(nd.outbox.front());
        nd.outbox.pop_front();
        history_.push_back(m);
        std::visit([&](auto& ev) { ps_actions(ps_.on(std::move(ev))); }, m);
        break;
      }
      case choice::compute: {
        const std::size_t k =
            std::uniform_int_distribution<std::size_t>(0, nd.running.size() - 1)(rng_);
        const auto job = nd.running[k];
        nd.running.erase(nd.running.begin() + static_cast<std::ptrdiff_t>(k));
        nd.results[job.ticket] =
            chunk_gradient(opt_.seed, job.iteration, job.chunk, opt_.dimension);
        worker_actions(w, nd.machine.on(worker_machine::chunk_computed{job.ticket}));
        nd.results.erase(job.ticket);
        break;
      }
      case choice::deadline:
        deadline_armed_ = false;
        ps_actions(ps_.on(ps_machine::deadline_fired{deadline_iteration_}));
        break;
      case choice::model: {
        const auto k = *pending_model_;
        pending_model_.reset();
        ps_actions(ps_.on(ps_machine::model_ready{k}));
        break;
      }
      case choice::lose:
        ++losses_;
        nd.connected = false;
        nd.inbox.clear();
        nd.outbox.clear();
        worker_actions(w, nd.machine.on(worker_machine::connection_lost{}));
        ps_actions(ps_.on(ps_machine::worker_lost{w}));
        break;
      case choice::join:
        nd.connected = true;
        nd.inbox.clear();
        nd.outbox.clear();
        ps_actions(ps_.on(ps_machine::worker_joined{w}));
        break;
    }
    return true;
  }

  void worker_actions(int w, std::vector<worker_machine::action> actions) {
    auto& nd = nodes_[static_cast<std::size_t>(w)];
    for (auto& a : actions) {
      if (auto* c = std::get_if<worker_machine::compute_chunk>(&a)) {
        nd.running.push_back(*c);
      } else if (auto* k = std::get_if<worker_machine::keep_gradient>(&a)) {
        auto& cols = nd.kept[k->iteration];
        REQUIRE(static_cast<int>(cols.size()) == k->position);
        cols.push_back(nd.results.at(k->ticket));
      } else if (auto* p = std::get_if<worker_machine::send_progress>(&a)) {
        if (nd.connected)
          nd.outbox.push_back(ps_machine::progress{w, p->iteration, p->chunks_done});
      } else if (auto* e = std::get_if<worker_machine::encode>(&a)) {
        const auto& cols = nd.kept.at(e->iteration);
        REQUIRE(static_cast<int>(cols.size()) >= e->chunks);
        Eigen::MatrixXd g(opt_.dimension, e->chunks);
        for (int p = 0; p < e->chunks; ++p)
          g.col(p) = cols[static_cast<std::size_t>(p)];
        const Eigen::VectorXd y = coding::encode(*code_, w, e->state, g);
        if (nd.connected) {
          nd.outbox.push_back(ps_machine::encoded{
              w, e->iteration, e->epoch, std::vector<double>(y.data(), y.data() + y.size())});
        }
      } else if (auto* d = std::get_if<worker_machine::drop_gradients>(&a)) {
        nd.kept.erase(d->iteration);
      } else if (auto* err = std::get_if<worker_machine::send_error>(&a)) {
        FAIL("worker " << w << " error: " << err->text);
      }
      // stop: the run is over for this worker.
    }
  }

  void ps_actions(std::vector<ps_machine::action> actions) {
    for (auto& a : actions) {
      if (auto* wel = std::get_if<ps_machine::send_welcome>(&a)) {
        // The worker builds its own scheme from Welcome's fields.
        nodes_[static_cast<std::size_t>(wel->worker)].inbox.push_back(worker_machine::welcome{
            worker_config{wel->worker, make_scheme(opt_.spec), opt_.dimension}});
      } else if (auto* s = std::get_if<ps_machine::start_iteration>(&a)) {
        if (s->resume) ++result_.resumes;
        for (int w : s->to)
          to(w, worker_machine::start_iteration{s->iteration});
      } else if (auto* arm = std::get_if<ps_machine::arm_deadline>(&a)) {
        deadline_armed_ = true;
        deadline_iteration_ = arm->iteration;
      } else if (auto* et = std::get_if<ps_machine::encode_and_transmit>(&a)) {
        last_epoch_[et->iteration] = et->epoch;
        for (int w : et->to)
          to(w, worker_machine::encode_and_transmit{et->iteration, et->epoch, et->state});
      } else if (auto* d = std::get_if<ps_machine::decode>(&a)) {
        check_decode(*d);
        pending_model_ = d->iteration + 1;
      } else if (auto* err = std::get_if<ps_machine::send_error>(&a)) {
        FAIL("ps error to worker " << err->worker << ": " << err->text);
      } else if (auto* rej = std::get_if<ps_machine::reject>(&a)) {
        FAIL("ps rejected worker " << rej->worker << ": " << rej->text);
      } else if (std::get_if<ps_machine::close_worker>(&a)) {
        FAIL("ps closed a worker");
      } else if (auto* sd = std::get_if<ps_machine::shutdown>(&a)) {
        for (int w : sd->to)
          to(w, worker_machine::shutdown{});
        result_.finished = true;
      }
    }
  }

  void to(int w, to_worker m) {
    auto& nd = nodes_[static_cast<std::size_t>(w)];
    REQUIRE(nd.connected);
    worker_history_.push_back({w, m});
    nd.inbox.push_back(std::move(m));
  }

  void check_decode(const ps_machine::decode& d) {
    // No iteration completes twice, none is skipped.
    REQUIRE(d.iteration == result_.outcomes.size());
    const int dim = opt_.dimension;
    const auto decoded = decode_gradient(*code_, d, dim);

    Eigen::VectorXd truth = Eigen::VectorXd::Zero(dim);
    for (int j = 0; j < code_->chunks(); ++j)
      truth += chunk_gradient(opt_.seed, d.iteration, j, dim);

    // The workers encoded exactly the chunks within the signalled state.
    const coding::block_layout layout{dim, code_->ell()};
    Eigen::MatrixXd reference(layout.block(), static_cast<Eigen::Index>(d.from.size()));
    for (std::size_t t = 0; t < d.from.size(); ++t) {
      const int w = d.from[t];
      const int used = code_->used(w, d.state);
      Eigen::MatrixXd g(dim, used);
      const auto list = code_->tasks().list(w);
      for (int p = 0; p < used; ++p) {
        g.col(p) = chunk_gradient(opt_.seed, d.iteration, list[static_cast<std::size_t>(p)], dim);
      }
      reference.col(static_cast<Eigen::Index>(t)) = coding::encode(*code_, w, d.state, g);
    }
    const Eigen::MatrixXd coded = d.coded_matrix();
    CHECK((coded - reference).norm() <= 1e-12 * (1.0 + reference.norm()));

    const double measured = (decoded.gradient - truth).squaredNorm() / truth.squaredNorm();
    if (decoded.expected_error == 0.0 ||
        (d.stats.exact && opt_.spec.kind != coding::scheme_kind::ignore_stragglers)) {
      CHECK(std::sqrt(measured) <= 1e-9);
    }
    if (opt_.mode == signal_mode::exact &&
        opt_.spec.kind != coding::scheme_kind::ignore_stragglers) {
      CHECK(d.stats.exact);
    }
    CHECK(d.stats.epochs == d.epoch + 1);
    if (d.epoch > 0) ++result_.resignals;
    if (d.stats.by_deadline) ++result_.by_deadline;
    result_.outcomes.push_back({d.iteration, d.epoch, d.state, d.from, coded, d.stats.exact,
                                measured, decoded.expected_error});
  }

  // Deliver a message from the past: it must be dropped without any action.
  void inject_stale() {
    if (std::uniform_int_distribution<int>(0, 9)(stale_rng_) != 0) return;
    if (std::uniform_int_distribution<int>(0, 1)(stale_rng_) == 0) {
      if (history_.empty()) return;
      const auto& m =
          history_[std::uniform_int_distribution<std::size_t>(0, history_.size() - 1)(stale_rng_)];
      const auto phase = ps_.current_phase();
      const bool between = phase == ps_machine::phase::waiting_model;
      bool stale = false;
      int w = -1;
      if (const auto* p = std::get_if<ps_machine::progress>(&m)) {
        w = p->worker;
        stale = p->iteration < ps_.iteration() || (p->iteration == ps_.iteration() && between);
      } else if (const auto* e = std::get_if<ps_machine::encoded>(&m)) {
        w = e->worker;
        const auto last = last_epoch_.find(e->iteration);
        stale = e->iteration < ps_.iteration() || (e->iteration == ps_.iteration() && between) ||
                (e->iteration == ps_.iteration() && last != last_epoch_.end() &&
                 e->epoch < last->second);
      }
      if (!stale || !ps_.joined(w) || phase == ps_machine::phase::finished) return;
      ++result_.injected;
      to_ps copy = m;
      std::visit([&](auto& ev) { CHECK(ps_.on(std::move(ev)).empty()); }, copy);
    } else {
      if (worker_history_.empty()) return;
      const auto& [w, m] = worker_history_[std::uniform_int_distribution<std::size_t>(
          0, worker_history_.size() - 1)(stale_rng_)];
      auto& nd = nodes_[static_cast<std::size_t>(w)];
      const auto current = nd.machine.iteration();
      std::uint64_t it = 0;
      if (const auto* s = std::get_if<worker_machine::start_iteration>(&m)) {
        it = s->iteration;
      } else if (const auto* e = std::get_if<worker_machine::encode_and_transmit>(&m)) {
        it = e->iteration;
      } else {
        return;
      }
      if (!current || it >= *current) return;
      ++result_.injected;
      to_worker copy = m;
      std::visit([&](auto& ev) { CHECK(nd.machine.on(std::move(ev)).empty()); }, copy);
    }
  }

  run_options opt_;
  std::shared_ptr<const coding::scheme> code_;
  ps_machine ps_;
  std::vector<node> nodes_;
  std::mt19937_64 rng_;
  std::mt19937_64 stale_rng_;
  std::optional<std::uint64_t> pending_model_;
  bool deadline_armed_ = false;
  std::uint64_t deadline_iteration_ = 0;
  int losses_ = 0;
  std::map<std::uint64_t, std::uint32_t> last_epoch_;
  std::vector<to_ps> history_;
  std::vector<std::pair<int, to_worker>> worker_history_;
  run_result result_;
};

struct named_case {
  const char* name;
  scheme_spec spec;
  signal_mode mode;
};

std::vector<named_case> all_cases() {
  using coding::scheme_kind;
  const auto spec = [](scheme_kind kind, int ell, int workers = 6, int load = 3) {
    scheme_spec s;
    s.kind = kind;
    s.workers = workers;
    s.load = load;
    s.ell = ell;
    s.seed = 42;
    return s;
  };
  scheme_spec shuffled = spec(scheme_kind::proposed, 2);
  // A processing order other than the cyclic one: every chunk at every position once.
  shuffled.lists = {{0, 1, 2}, {2, 3, 1}, {3, 4, 2}, {5, 3, 4}, {4, 5, 0}, {1, 0, 5}};
  return {
      {"proposed ell 1 exact", spec(scheme_kind::proposed, 1), signal_mode::exact},
      {"proposed ell 2 exact", spec(scheme_kind::proposed, 2), signal_mode::exact},
      {"proposed ell 3 exact", spec(scheme_kind::proposed, 3), signal_mode::exact},
      {"proposed reordered exact", shuffled, signal_mode::exact},
      {"proposed ell 2 approximate", spec(scheme_kind::proposed, 2), signal_mode::approximate},
      {"proposed ell 1 approximate", spec(scheme_kind::proposed, 1), signal_mode::approximate},
      {"original ell 1", spec(scheme_kind::original, 1), signal_mode::exact},
      {"original ell 2", spec(scheme_kind::original, 2), signal_mode::exact},
      {"original ell 2 approximate", spec(scheme_kind::original, 2), signal_mode::approximate},
      {"frc", spec(scheme_kind::fractional_repetition, 1), signal_mode::exact},
      {"ignore", spec(scheme_kind::ignore_stragglers, 1), signal_mode::exact},
      {"uncoded", spec(scheme_kind::uncoded, 1), signal_mode::exact},
  };
}

}  // namespace

TEST_CASE("random interleavings of every scheme decode every iteration once and correctly") {
  int resumes = 0;
  int resignals = 0;
  int by_deadline = 0;
  for (const auto& c : all_cases()) {
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
      const std::string name = c.name;
      CAPTURE(name);
      CAPTURE(seed);
      run_options opt;
      opt.spec = c.spec;
      opt.mode = c.mode;
      opt.seed = seed;
      const auto result = cluster(opt).run();
      REQUIRE(result.finished);
      CHECK(result.outcomes.size() == opt.iterations);
      resumes += result.resumes;
      resignals += result.resignals;
      by_deadline += result.by_deadline;
      if (c.mode == signal_mode::exact) CHECK(result.by_deadline == 0);
    }
  }
  // The fault paths were really taken.
  MESSAGE("resumes " << resumes << " resignals " << resignals << " by deadline " << by_deadline);
  CHECK(resumes > 10);
  CHECK(resignals > 10);
  CHECK(by_deadline > 10);
}

TEST_CASE("stale and repeated messages never change the outcome") {
  long long injected = 0;
  for (const auto& c : all_cases()) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      const std::string name = c.name;
      CAPTURE(name);
      CAPTURE(seed);
      run_options opt;
      opt.spec = c.spec;
      opt.mode = c.mode;
      opt.seed = seed;
      const auto clean = cluster(opt).run();
      opt.inject_stale = true;
      const auto noisy = cluster(opt).run();
      REQUIRE(clean.finished);
      REQUIRE(noisy.finished);
      REQUIRE(clean.outcomes.size() == noisy.outcomes.size());
      for (std::size_t k = 0; k < clean.outcomes.size(); ++k) {
        CHECK(clean.outcomes[k].epoch == noisy.outcomes[k].epoch);
        CHECK(clean.outcomes[k].state == noisy.outcomes[k].state);
        CHECK(clean.outcomes[k].from == noisy.outcomes[k].from);
        CHECK(clean.outcomes[k].coded == noisy.outcomes[k].coded);
      }
      CHECK(noisy.stale_dropped >= clean.stale_dropped);
      injected += noisy.injected;
    }
  }
  CHECK(injected > 100);
}

TEST_CASE("approximate decoding error matches the expected error on average") {
  for (const int ell : {1, 2}) {
    CAPTURE(ell);
    double measured = 0;
    double expected = 0;
    int approximate = 0;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      run_options opt;
      opt.spec.kind = coding::scheme_kind::proposed;
      opt.spec.workers = 6;
      opt.spec.load = 3;
      opt.spec.ell = ell;
      opt.spec.seed = 7;
      opt.mode = signal_mode::approximate;
      opt.dimension = 64;
      opt.iterations = 30;
      opt.max_losses = 0;
      opt.seed = seed;
      const auto result = cluster(opt).run();
      REQUIRE(result.finished);
      for (const auto& o : result.outcomes) {
        if (o.expected_error == 0.0) {
          CHECK(o.measured_error <= 1e-18);
          continue;
        }
        ++approximate;
        measured += o.measured_error;
        expected += o.expected_error;
      }
    }
    REQUIRE(approximate >= 30);
    // Averages over many iterations of 64 coordinates: within a loose band of each other.
    CHECK(measured / expected > 0.7);
    CHECK(measured / expected < 1.4);
  }
}
