// libFuzzer target: the parameter server's pure state machine fed with any sequence of events
// (workers joining and leaving, progress, coded vectors with any iteration, epoch and length,
// deadlines, model_ready), as a hostile or broken set of workers and timers could produce it.
// After every event the harness checks the machine's invariants against what it was told:
// on() never throws, phase and iteration stay consistent, and a decode is emitted once per
// iteration, for the last EncodeAndTransmit, with exactly the payloads its senders sent for it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "pgc/core/error.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/scheme_spec.hpp"
#include "ps_script.hpp"

namespace {

using namespace pgc;
using nodes::ps_machine;
using ps = ps_machine;

// PGC_FUZZ_TRACE=1 in the environment prints every event and action (to replay a finding).
bool trace = false;

const char* event_name(const ps::event& e) {
  constexpr const char* names[] = {"worker_joined", "worker_lost", "progress",
                                   "encoded",       "deadline",    "model_ready"};
  return names[e.index()];
}

const char* action_name(const ps::action& a) {
  constexpr const char* names[] = {
      "send_welcome", "start_iteration", "arm_deadline", "encode_and_transmit",
      "decode",       "send_error",      "close_worker", "reject",
      "shutdown",     "notice"};
  return names[a.index()];
}

[[noreturn]] void violated(const char* what, int line) {
  std::fprintf(stderr, "ps_machine invariant violated (fuzz_ps_machine.cpp:%d): %s\n", line, what);
  std::abort();
}
#define PGC_FUZZ_CHECK(cond)                \
  do {                                      \
    if (!(cond)) violated(#cond, __LINE__); \
  } while (false)

// The config is the operator's, not a peer's: combinations the scheme or the machine refuse
// end the run without a finding.
std::optional<nodes::ps_config> config_from(fuzz::script_reader& in) {
  fuzz::script_header h;
  h.kind = in.byte();
  h.workers = in.byte();
  h.load = in.byte();
  h.ell = in.byte();
  h.flags = in.byte();
  h.dimension = in.byte();
  h.min_workers = in.byte();
  h.first_workers = in.byte();
  h.iterations = in.byte();
  h.first_iteration = in.byte();
  h.seed = in.byte();

  nodes::scheme_spec spec;
  spec.kind = static_cast<coding::scheme_kind>(h.kind % 5);
  spec.workers = 1 + h.workers % 6;
  spec.load = 1 + h.load % spec.workers;
  spec.ell = 1 + h.ell % 3;
  spec.seed = h.seed;
  nodes::ps_config c;
  try {
    c.code = nodes::make_scheme(spec);
  } catch (const core::input_error&) {
    return std::nullopt;
  }
  c.protocol.mode = (h.flags & 1) ? nodes::signal_mode::approximate : nodes::signal_mode::exact;
  c.run.on_shortfall = static_cast<nodes::shortfall_policy>((h.flags >> 1 & 3) % 3);
  c.protocol.deadline = std::chrono::milliseconds(100);
  c.protocol.dimension = 1 + h.dimension % 8;
  c.run.min_workers = h.min_workers % (spec.workers + 1);
  c.run.first_iteration_workers = h.first_workers % (spec.workers + 1);
  if (h.flags & 8) c.run.iterations = h.iterations % 4;
  c.run.first_iteration = h.first_iteration % 3;
  return c;
}

// Payload entries: distinct per worker and position, with NaN and infinity on request, so a
// decode that mixes up columns or senders shows.
double entry(std::uint8_t value, int worker, std::size_t k) {
  if (value == 255) return std::numeric_limits<double>::quiet_NaN();
  if (value == 254) return std::numeric_limits<double>::infinity();
  return (value - 128) * 0.5 + static_cast<double>(k) * 0.25 + worker;
}

struct harness {
  explicit harness(nodes::ps_config config)
      : code(config.code), m(config), cfg(std::move(config)) {}

  int workers() const { return code->workers(); }
  int block() const { return coding::block_layout{cfg.protocol.dimension, code->ell()}.block(); }

  int worker_from(std::uint8_t b) const { return b % (workers() + 2) - 1; }

  std::uint64_t iteration_from(fuzz::script_reader& in) const {
    using fuzz::iteration_sel;
    switch (static_cast<iteration_sel>(in.byte() % static_cast<int>(iteration_sel::count))) {
      case iteration_sel::current:
        return m.iteration();
      case iteration_sel::next:
        return m.iteration() + 1;
      case iteration_sel::previous:
        return m.iteration() - 1;
      case iteration_sel::completed:
        return m.completed();
      case iteration_sel::zero:
        return 0;
      case iteration_sel::max:
        return std::numeric_limits<std::uint64_t>::max();
      case iteration_sel::after_next:
        return m.iteration() + 2;
      case iteration_sel::raw:
      case iteration_sel::count:
        break;
    }
    return in.raw<std::uint64_t>();
  }

  std::uint32_t epoch_from(fuzz::script_reader& in) const {
    using fuzz::epoch_sel;
    switch (static_cast<epoch_sel>(in.byte() % static_cast<int>(epoch_sel::count))) {
      case epoch_sel::current:
        return m.signals() - 1;
      case epoch_sel::next:
        return m.signals();
      case epoch_sel::previous:
        return m.signals() - 2;
      case epoch_sel::zero:
        return 0;
      case epoch_sel::max:
        return std::numeric_limits<std::uint32_t>::max();
      case epoch_sel::raw:
      case epoch_sel::count:
        break;
    }
    return in.raw<std::uint32_t>();
  }

  ps::event next_event(fuzz::script_reader& in) const {
    using fuzz::op;
    const auto o = static_cast<op>(in.byte() % static_cast<int>(op::count));
    switch (o) {
      case op::joined:
        return ps::worker_joined{worker_from(in.byte())};
      case op::lost:
        return ps::worker_lost{worker_from(in.byte())};
      case op::progress: {
        const int w = worker_from(in.byte());
        const auto it = iteration_from(in);
        const int load = m.joined(w) ? code->tasks().load(w) : 3;
        return ps::progress{w, it, in.byte() % (load + 3) - 1};
      }
      case op::encoded: {
        const int w = worker_from(in.byte());
        const auto it = iteration_from(in);
        const auto ep = epoch_from(in);
        const int length = std::max(0, block() + in.byte() % 3 - 1);
        const std::uint8_t value = in.byte();
        std::vector<double> payload(static_cast<std::size_t>(length));
        for (std::size_t k = 0; k < payload.size(); ++k)
          payload[k] = entry(value, w, k);
        return ps::encoded{w, it, ep, std::move(payload)};
      }
      case op::deadline:
        return ps::deadline_fired{iteration_from(in)};
      case op::model_ready:
      case op::count:
        break;
    }
    return ps::model_ready{iteration_from(in)};
  }

  // What the machine looked like before the event.
  struct before {
    ps::phase phase;
    std::uint64_t iteration;
    std::uint64_t completed;
    std::uint32_t signals;
    std::vector<bool> joined;
  };

  before snapshot() const {
    before b{m.current_phase(), m.iteration(), m.completed(), m.signals(), {}};
    for (int w = 0; w < workers(); ++w)
      b.joined.push_back(m.joined(w));
    return b;
  }

  bool was_joined(const before& b, int w) const {
    return w >= 0 && w < workers() && b.joined[static_cast<std::size_t>(w)];
  }

  void step(ps::event e) {
    const before b = snapshot();
    // A reply the machine must keep for the decode: from an awaited sender of the current
    // signal, first of its kind, of the right length.
    if (const auto* enc = std::get_if<ps::encoded>(&e)) {
      if (b.phase == ps::phase::awaiting && signal && was_joined(b, enc->worker) &&
          enc->iteration == b.iteration && enc->epoch + 1 == b.signals &&
          std::binary_search(signal->senders.begin(), signal->senders.end(), enc->worker) &&
          !replies.contains(enc->worker) &&
          enc->payload.size() == static_cast<std::size_t>(block())) {
        replies[enc->worker] = enc->payload;
      }
    }
    const ps::event copy = e;
    if (trace) print(copy);
    const auto actions = m.on(std::move(e));  // never throws: an exception is a finding
    if (trace) print(actions);
    for (const auto& a : actions)
      std::visit([&](const auto& x) { check(copy, b, x); }, a);
    check_state(b);
  }

  // ---- per action -------------------------------------------------------------------------
  void check(const ps::event& e, const before& b, const ps::send_welcome& a) {
    const auto* j = std::get_if<ps::worker_joined>(&e);
    PGC_FUZZ_CHECK(j && j->worker == a.worker);
    PGC_FUZZ_CHECK(!was_joined(b, a.worker) && m.joined(a.worker));
  }

  void check(const ps::event& e, const before& b, const ps::start_iteration& a) {
    PGC_FUZZ_CHECK(!finished_before);
    PGC_FUZZ_CHECK(a.iteration == m.iteration());
    for (int w : a.to)
      PGC_FUZZ_CHECK(m.joined(w));
    PGC_FUZZ_CHECK(!cfg.run.iterations || a.iteration < *cfg.run.iterations);
    if (a.resume) {
      // Back to collecting progress after the sender of a signal was lost.
      PGC_FUZZ_CHECK(b.phase == ps::phase::awaiting);
      PGC_FUZZ_CHECK(a.iteration == b.iteration);
      PGC_FUZZ_CHECK(std::holds_alternative<ps::worker_lost>(e) ||
                     std::holds_alternative<ps::encoded>(e));
      return;
    }
    if (b.phase == ps::phase::computing) {
      // A worker that (re)joined a running iteration.
      const auto* j = std::get_if<ps::worker_joined>(&e);
      PGC_FUZZ_CHECK(j && a.to == std::vector<int>{j->worker});
      PGC_FUZZ_CHECK(a.iteration == b.iteration);
      return;
    }
    // A new iteration: the one after the last, from waiting_model only.
    PGC_FUZZ_CHECK(b.phase == ps::phase::waiting_model && !a.to.empty());
    PGC_FUZZ_CHECK(a.iteration == (last_started ? *last_started + 1 : cfg.run.first_iteration));
    PGC_FUZZ_CHECK(a.iteration == b.completed);
    last_started = a.iteration;
    signal.reset();
    replies.clear();
  }

  void check(const ps::event&, const before&, const ps::arm_deadline& a) {
    PGC_FUZZ_CHECK(cfg.protocol.mode == nodes::signal_mode::approximate);
    PGC_FUZZ_CHECK(last_started && a.iteration == *last_started);
  }

  void check(const ps::event&, const before& b, const ps::encode_and_transmit& a) {
    PGC_FUZZ_CHECK(!finished_before);
    PGC_FUZZ_CHECK(last_started && a.iteration == *last_started && a.iteration == m.iteration());
    PGC_FUZZ_CHECK(b.phase == ps::phase::computing || b.phase == ps::phase::awaiting);
    PGC_FUZZ_CHECK(a.epoch + 1 == m.signals());
    PGC_FUZZ_CHECK(signal ? a.epoch == signal->epoch + 1 : a.epoch == 0);
    PGC_FUZZ_CHECK(a.state.size() == static_cast<std::size_t>(workers()));
    for (int w = 0; w < workers(); ++w) {
      const int s = a.state[static_cast<std::size_t>(w)];
      PGC_FUZZ_CHECK(s >= 0 && s <= code->tasks().load(w));
      PGC_FUZZ_CHECK(s == 0 || m.joined(w));  // a dropped worker counts 0
    }
    auto senders = code->senders(a.state);
    PGC_FUZZ_CHECK(!senders.empty());
    for (int w : senders)
      PGC_FUZZ_CHECK(std::find(a.to.begin(), a.to.end(), w) != a.to.end());
    signal = signalled{a.epoch, a.state, std::move(senders)};
    replies.clear();
  }

  void check(const ps::event& e, const before& b, const ps::decode& a) {
    PGC_FUZZ_CHECK(std::holds_alternative<ps::encoded>(e));
    PGC_FUZZ_CHECK(b.phase == ps::phase::awaiting && signal);
    PGC_FUZZ_CHECK(last_started && a.iteration == *last_started && a.iteration == b.iteration);
    PGC_FUZZ_CHECK(decoded.insert(a.iteration).second);  // once per iteration
    PGC_FUZZ_CHECK(a.epoch == signal->epoch && a.state == signal->state);
    // Exactly the awaited replies, each the payload its sender sent for this signal.
    PGC_FUZZ_CHECK(a.from == signal->senders);
    const Eigen::MatrixXd coded = a.coded_matrix();
    PGC_FUZZ_CHECK(coded.rows() == block());
    PGC_FUZZ_CHECK(coded.cols() == static_cast<Eigen::Index>(a.from.size()));
    PGC_FUZZ_CHECK(replies.size() == a.from.size());
    bool finite = true;
    for (std::size_t t = 0; t < a.from.size(); ++t) {
      const auto it = replies.find(a.from[t]);
      PGC_FUZZ_CHECK(it != replies.end());
      const auto col = coded.col(static_cast<Eigen::Index>(t));
      PGC_FUZZ_CHECK(std::memcmp(col.data(), it->second.data(), it->second.size() * 8) == 0);
      for (double x : it->second)
        finite = finite && std::isfinite(x);
    }
    // The decode the shell runs on its pool, on what the machine handed over.
    const auto g = nodes::decode_gradient(*code, a, cfg.protocol.dimension);
    PGC_FUZZ_CHECK(g.gradient.size() == cfg.protocol.dimension);
    if (finite) PGC_FUZZ_CHECK(g.gradient.allFinite());
    PGC_FUZZ_CHECK(g.expected_error >= 0);
    signal.reset();
    replies.clear();
  }

  void check(const ps::event& e, const before& b, const ps::send_error& a) {
    PGC_FUZZ_CHECK(was_joined(b, a.worker));
    PGC_FUZZ_CHECK(event_worker(e) == a.worker);
  }

  void check(const ps::event& e, const before& b, const ps::close_worker& a) {
    PGC_FUZZ_CHECK(was_joined(b, a.worker) && !m.joined(a.worker));
    PGC_FUZZ_CHECK(event_worker(e) == a.worker);
  }

  void check(const ps::event& e, const before& b, const ps::reject& a) {
    PGC_FUZZ_CHECK(event_worker(e) == a.worker);
    // A joined worker gets send_error, except a second join under the same id.
    PGC_FUZZ_CHECK(!was_joined(b, a.worker) || std::holds_alternative<ps::worker_joined>(e));
  }

  void check(const ps::event& e, const before&, const ps::shutdown& a) {
    PGC_FUZZ_CHECK(m.current_phase() == ps::phase::finished && !finished_before);
    for (int w : a.to)
      PGC_FUZZ_CHECK(m.joined(w));
    // A failure only by the shortfall policy; otherwise the configured iterations are done.
    if (a.failure) {
      PGC_FUZZ_CHECK(cfg.run.on_shortfall == nodes::shortfall_policy::stop);
    } else {
      PGC_FUZZ_CHECK(std::holds_alternative<ps::model_ready>(e));
      PGC_FUZZ_CHECK(cfg.run.iterations && m.completed() == *cfg.run.iterations);
    }
  }

  void check(const ps::event&, const before&, const ps::notice&) {}

  void print(const ps::event& e) const {
    std::fprintf(stderr, "[phase %d iteration %llu signals %u joined %d] %s",
                 static_cast<int>(m.current_phase()),
                 static_cast<unsigned long long>(m.iteration()), m.signals(), m.joined_count(),
                 event_name(e));
    std::visit(
        [](const auto& x) {
          if constexpr (requires { x.worker; }) std::fprintf(stderr, " worker %d", x.worker);
          if constexpr (requires { x.iteration; }) {
            std::fprintf(stderr, " iteration %llu", static_cast<unsigned long long>(x.iteration));
          }
          if constexpr (requires { x.epoch; }) std::fprintf(stderr, " epoch %u", x.epoch);
          if constexpr (requires { x.chunks_done; })
            std::fprintf(stderr, " done %d", x.chunks_done);
          if constexpr (requires { x.payload; })
            std::fprintf(stderr, " length %zu", x.payload.size());
        },
        e);
    std::fprintf(stderr, "\n");
  }

  static void print(const std::vector<ps::action>& actions) {
    for (const auto& a : actions) {
      std::fprintf(stderr, "    -> %s", action_name(a));
      std::visit(
          [](const auto& x) {
            if constexpr (requires { x.worker; }) std::fprintf(stderr, " worker %d", x.worker);
            if constexpr (requires { x.to; }) {
              std::fprintf(stderr, " to");
              for (int w : x.to)
                std::fprintf(stderr, " %d", w);
            }
            if constexpr (requires { x.state; }) {
              std::fprintf(stderr, " state");
              for (int v : x.state)
                std::fprintf(stderr, " %d", v);
            }
            if constexpr (requires { x.text; }) std::fprintf(stderr, " %s", x.text.c_str());
            if constexpr (requires { x.reason; }) std::fprintf(stderr, " %s", x.reason.c_str());
          },
          a);
      std::fprintf(stderr, "\n");
    }
  }

  static int event_worker(const ps::event& e) {
    return std::visit(
        [](const auto& x) -> int {
          if constexpr (requires { x.worker; }) {
            return x.worker;
          } else {
            return -2;
          }
        },
        e);
  }

  // ---- after every event ------------------------------------------------------------------
  void check_state(const before& b) {
    int joined = 0;
    for (int w = 0; w < workers(); ++w)
      joined += m.joined(w) ? 1 : 0;
    PGC_FUZZ_CHECK(joined == m.joined_count());
    PGC_FUZZ_CHECK(!m.joined(-1) && !m.joined(workers()));
    PGC_FUZZ_CHECK(m.completed() == cfg.run.first_iteration + decoded.size());
    PGC_FUZZ_CHECK(m.iteration() >= cfg.run.first_iteration);
    PGC_FUZZ_CHECK(!cfg.run.iterations || m.completed() <= *cfg.run.iterations);
    PGC_FUZZ_CHECK(m.state().size() == static_cast<std::size_t>(workers()));
    switch (m.current_phase()) {
      case ps::phase::waiting_model:
        PGC_FUZZ_CHECK(!finished_before);
        // Before the first iteration, or between a decode and the next model.
        PGC_FUZZ_CHECK(!last_started || m.completed() == m.iteration() + 1);
        break;
      case ps::phase::computing:
        PGC_FUZZ_CHECK(last_started && m.iteration() == *last_started);
        PGC_FUZZ_CHECK(m.completed() == m.iteration());
        break;
      case ps::phase::awaiting:
        PGC_FUZZ_CHECK(last_started && m.iteration() == *last_started);
        PGC_FUZZ_CHECK(m.completed() == m.iteration());
        PGC_FUZZ_CHECK(m.signals() >= 1 && signal && signal->epoch + 1 == m.signals());
        break;
      case ps::phase::finished:
        break;
    }
    if (b.phase == ps::phase::finished) PGC_FUZZ_CHECK(m.current_phase() == ps::phase::finished);
    finished_before = m.current_phase() == ps::phase::finished;
  }

  struct signalled {
    std::uint32_t epoch;
    coding::state_vector state;
    std::vector<int> senders;
  };

  std::shared_ptr<const coding::scheme> code;
  ps_machine m;
  nodes::ps_config cfg;
  std::optional<std::uint64_t> last_started;
  std::optional<signalled> signal;
  std::map<int, std::vector<double>> replies;  // for the current signal, by sender
  std::set<std::uint64_t> decoded;
  bool finished_before = false;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* t = std::getenv("PGC_FUZZ_TRACE");
  trace = t != nullptr && *t != '\0' && *t != '0';
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::script_reader in(std::span(data, size));
  auto config = config_from(in);
  if (!config) return 0;
  std::optional<harness> h;
  try {
    h.emplace(std::move(*config));
  } catch (const core::input_error&) {
    return 0;  // e.g. a first iteration beyond the configured count
  }
  // Bounded work per input whatever its length.
  for (int n = 0; n < 512 && !in.done(); ++n)
    h->step(h->next_event(in));
  return 0;
}
