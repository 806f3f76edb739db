#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/coding/baselines.hpp"
#include "pgc/core/error.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/scheme_spec.hpp"

using namespace pgc;
using namespace pgc::nodes;
using ps = ps_machine;

namespace {

template <class T>
std::vector<T> all_of(const std::vector<ps::action>& actions) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (const auto* t = std::get_if<T>(&a)) out.push_back(*t);
  }
  return out;
}

template <class T>
T one_of(const std::vector<ps::action>& actions) {
  const auto found = all_of<T>(actions);
  REQUIRE(found.size() == 1);
  return found.front();
}

// Proposed, N = 4, cyclic load 2 (worker i holds chunks i, i+1), ell = 1, d = 4.
ps_config proposed_config(signal_mode mode = signal_mode::exact, int ell = 1) {
  scheme_spec spec;
  spec.workers = 4;
  spec.load = 2;
  spec.ell = ell;
  spec.seed = 3;
  ps_config c;
  c.code = make_scheme(spec);
  c.protocol.mode = mode;
  c.protocol.deadline = std::chrono::milliseconds(250);
  c.protocol.dimension = 4;
  c.run.iterations = 3;
  return c;
}

// All four workers joined and iteration 0 started.
ps started(ps_config config) {
  ps m(std::move(config));
  CHECK(m.on(ps::model_ready{0}).empty());  // nobody joined yet
  for (int w = 0; w < 3; ++w)
    CHECK(all_of<ps::start_iteration>(m.on(ps::worker_joined{w})).empty());
  const auto a = m.on(ps::worker_joined{3});
  CHECK(one_of<ps::send_welcome>(a).worker == 3);
  const auto s = one_of<ps::start_iteration>(a);
  CHECK(s.iteration == 0);
  CHECK(s.to == std::vector<int>{0, 1, 2, 3});
  CHECK_FALSE(s.resume);
  CHECK(m.current_phase() == ps::phase::computing);
  return m;
}

std::vector<double> payload(double v, std::size_t n = 4) {
  return std::vector<double>(n, v);
}

}  // namespace

TEST_CASE("the ps rejects a config without a scheme or with a bad dimension") {
  ps_config c = proposed_config();
  c.protocol.dimension = 0;
  CHECK_THROWS_AS(ps{c}, core::input_error);
  c = proposed_config();
  c.code = nullptr;
  CHECK_THROWS_AS(ps{c}, core::input_error);
  c = proposed_config();
  c.run.min_workers = 5;
  CHECK_THROWS_AS(ps{c}, core::input_error);
}

TEST_CASE("the ps waits for every worker and the model before the first iteration") {
  ps m(proposed_config());
  for (int w = 0; w < 4; ++w) {
    const auto a = m.on(ps::worker_joined{w});
    CHECK(a.size() == 1);
    CHECK(one_of<ps::send_welcome>(a).worker == w);
  }
  CHECK(m.current_phase() == ps::phase::waiting_model);
  CHECK(m.on(ps::model_ready{1}).empty());  // not the expected iteration
  const auto s = one_of<ps::start_iteration>(m.on(ps::model_ready{0}));
  CHECK(s.to.size() == 4);
}

TEST_CASE("a configurable minimum of workers starts the run early") {
  auto c = proposed_config();
  c.run.min_workers = 2;
  ps m(c);
  m.on(ps::model_ready{0});
  CHECK(all_of<ps::start_iteration>(m.on(ps::worker_joined{1})).empty());
  CHECK(one_of<ps::start_iteration>(m.on(ps::worker_joined{3})).to == std::vector<int>{1, 3});
  // A late joiner gets the running iteration on its own.
  const auto late = one_of<ps::start_iteration>(m.on(ps::worker_joined{0}));
  CHECK(late.to == std::vector<int>{0});
  CHECK(late.iteration == 0);
}

TEST_CASE("the first iteration can wait for the whole cluster while later ones need fewer") {
  auto c = proposed_config();
  c.run.min_workers = 2;
  c.run.first_iteration_workers = 4;
  ps m(c);
  m.on(ps::model_ready{0});
  CHECK(all_of<ps::start_iteration>(m.on(ps::worker_joined{1})).empty());
  CHECK(all_of<ps::start_iteration>(m.on(ps::worker_joined{3})).empty());
  CHECK(all_of<ps::start_iteration>(m.on(ps::worker_joined{0})).empty());
  CHECK(one_of<ps::start_iteration>(m.on(ps::worker_joined{2})).to == std::vector<int>{0, 1, 2, 3});
  c.run.first_iteration_workers = 5;
  CHECK_THROWS_AS(ps{c}, pgc::core::input_error);
}

TEST_CASE("exact mode signals once every chunk has ell copies and decodes from the senders") {
  ps m = started(proposed_config());
  CHECK(m.on(ps::progress{0, 0, 1}).empty());
  CHECK(m.on(ps::progress{0, 0, 2}).empty());
  CHECK(m.on(ps::progress{1, 0, 1}).empty());  // chunk 1 again
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));
  CHECK(et.iteration == 0);
  CHECK(et.epoch == 0);
  CHECK(et.state == coding::state_vector{2, 1, 2, 0});
  CHECK(et.to == std::vector<int>{0, 1, 2, 3});
  CHECK(m.current_phase() == ps::phase::awaiting);

  // Progress after the signal is recorded but signals nothing.
  CHECK(m.on(ps::progress{3, 0, 1}).empty());
  CHECK(m.on(ps::encoded{2, 0, 0, payload(2)}).empty());
  CHECK(m.on(ps::encoded{0, 0, 0, payload(0)}).empty());
  const auto d = one_of<ps::decode>(m.on(ps::encoded{1, 0, 0, payload(1)}));
  CHECK(d.iteration == 0);
  CHECK(d.from == std::vector<int>{0, 1, 2});
  REQUIRE(d.coded.size() == 3);
  const Eigen::MatrixXd coded = d.coded_matrix();
  CHECK(coded.cols() == 3);
  CHECK(coded(0, 0) == 0.0);
  CHECK(coded(0, 1) == 1.0);
  CHECK(coded(0, 2) == 2.0);
  CHECK(d.stats.epochs == 1);
  CHECK(d.stats.exact);
  CHECK(d.stats.chunks_processed == 5);
  CHECK(d.stats.chunks_used == 5);
  CHECK(d.stats.copies == std::vector<int>{1, 2, 1, 1});
  CHECK(m.completed() == 1);
  CHECK(m.current_phase() == ps::phase::waiting_model);

  // A late reply and late progress of the finished iteration are stale, not errors.
  CHECK(m.on(ps::encoded{1, 0, 0, payload(1)}).empty());
  CHECK(m.on(ps::progress{3, 0, 2}).empty());
  CHECK(m.stale_dropped() == 2);

  const auto s = one_of<ps::start_iteration>(m.on(ps::model_ready{1}));
  CHECK(s.iteration == 1);
  CHECK(m.state() == coding::state_vector{0, 0, 0, 0});
}

TEST_CASE("the run ends with shutdown after the configured iterations") {
  auto c = proposed_config();
  c.run.iterations = 1;
  ps m = started(c);
  m.on(ps::progress{0, 0, 2});
  m.on(ps::progress{2, 0, 2});
  m.on(ps::encoded{0, 0, 0, payload(0)});
  one_of<ps::decode>(m.on(ps::encoded{2, 0, 0, payload(0)}));
  const auto sd = one_of<ps::shutdown>(m.on(ps::model_ready{1}));
  CHECK(sd.to.size() == 4);
  CHECK(m.current_phase() == ps::phase::finished);
  CHECK(m.on(ps::progress{0, 1, 1}).size() == 1);  // an error: iteration 1 never started
}

TEST_CASE("bad input becomes an error action and never an exception") {
  ps m = started(proposed_config());
  SUBCASE("duplicate and out of range joins are rejected") {
    CHECK(one_of<ps::reject>(m.on(ps::worker_joined{2})).code == core::errc::duplicate_peer);
    CHECK(one_of<ps::reject>(m.on(ps::worker_joined{4})).code == core::errc::invalid_input);
    CHECK(one_of<ps::reject>(m.on(ps::worker_joined{-1})).code == core::errc::invalid_input);
  }
  SUBCASE("messages from unknown workers are rejected") {
    CHECK(one_of<ps::reject>(m.on(ps::progress{7, 0, 1})).code == core::errc::unknown_peer);
    m.on(ps::worker_lost{1});
    CHECK(one_of<ps::reject>(m.on(ps::progress{1, 0, 1})).code == core::errc::unknown_peer);
    CHECK(one_of<ps::reject>(m.on(ps::encoded{1, 0, 0, payload(0)})).code ==
          core::errc::unknown_peer);
  }
  SUBCASE("progress beyond the list or backwards is an error") {
    CHECK(one_of<ps::send_error>(m.on(ps::progress{0, 0, 3})).code == core::errc::invalid_input);
    CHECK(one_of<ps::send_error>(m.on(ps::progress{0, 0, -1})).code == core::errc::invalid_input);
    CHECK(m.on(ps::progress{0, 0, 2}).empty());
    CHECK(m.on(ps::progress{0, 0, 2}).empty());  // a repeat changes nothing
    const auto e = one_of<ps::send_error>(m.on(ps::progress{0, 0, 1}));
    CHECK(e.code == core::errc::protocol_violation);
    CHECK(e.worker == 0);
    CHECK(m.state()[0] == 2);
  }
  SUBCASE("messages for iterations and epochs never started are errors") {
    CHECK(one_of<ps::send_error>(m.on(ps::progress{0, 5, 1})).code ==
          core::errc::protocol_violation);
    CHECK(one_of<ps::send_error>(m.on(ps::encoded{0, 0, 0, payload(0)})).code ==
          core::errc::protocol_violation);
    m.on(ps::progress{0, 0, 2});
    one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));
    CHECK(one_of<ps::send_error>(m.on(ps::encoded{0, 0, 1, payload(0)})).code ==
          core::errc::protocol_violation);
  }
  SUBCASE("a reply from a worker with nothing to send is an error") {
    m.on(ps::progress{0, 0, 2});
    one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));
    CHECK(one_of<ps::send_error>(m.on(ps::encoded{1, 0, 0, payload(0)})).code ==
          core::errc::protocol_violation);
  }
  SUBCASE("a payload of the wrong length closes the worker and the others re-encode") {
    m.on(ps::progress{0, 0, 2});
    m.on(ps::progress{1, 0, 2});
    CHECK(one_of<ps::encode_and_transmit>(m.on(ps::progress{3, 0, 2})).state ==
          coding::state_vector{2, 2, 0, 2});
    CHECK(m.on(ps::progress{2, 0, 2}).empty());
    const auto a = m.on(ps::encoded{0, 0, 0, payload(0, 3)});
    CHECK(one_of<ps::send_error>(a).code == core::errc::invalid_input);
    CHECK(one_of<ps::close_worker>(a).worker == 0);
    const auto et = one_of<ps::encode_and_transmit>(a);  // 1, 2, 3 still cover every chunk
    CHECK(et.epoch == 1);
    CHECK(et.state == coding::state_vector{0, 2, 2, 2});
    CHECK(et.to == std::vector<int>{1, 2, 3});
    CHECK_FALSE(m.joined(0));
    CHECK(m.on(ps::worker_lost{0}).empty());  // the shell's report comes later: a no-op
  }
  CHECK(m.completed() == 0);
}

TEST_CASE("a lost sender makes the ps re-signal with a new epoch when the rest is ready") {
  ps m = started(proposed_config());
  m.on(ps::progress{0, 0, 1});
  m.on(ps::progress{1, 0, 2});
  m.on(ps::progress{2, 0, 1});
  const auto first = one_of<ps::encode_and_transmit>(m.on(ps::progress{3, 0, 1}));
  CHECK(first.state == coding::state_vector{1, 2, 1, 1});
  CHECK(m.on(ps::progress{3, 0, 2}).empty());  // recorded for a later epoch
  CHECK(m.on(ps::encoded{1, 0, 0, payload(1)}).empty());
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::worker_lost{2}));
  CHECK(et.epoch == 1);
  CHECK(et.state == coding::state_vector{1, 2, 0, 2});
  CHECK(et.to == std::vector<int>{0, 1, 3});
  // Worker 1's reply to epoch 0 no longer counts.
  CHECK(m.on(ps::encoded{0, 0, 0, payload(0)}).empty());
  CHECK(m.on(ps::encoded{0, 0, 1, payload(0)}).empty());
  CHECK(m.on(ps::encoded{1, 0, 1, payload(1)}).empty());
  const auto d = one_of<ps::decode>(m.on(ps::encoded{3, 0, 1, payload(3)}));
  CHECK(d.epoch == 1);
  CHECK(d.state == et.state);
  CHECK(d.from == std::vector<int>{0, 1, 3});
}

TEST_CASE("a lost sender makes the ps resume the workers when the rest is not ready") {
  ps m = started(proposed_config());
  m.on(ps::progress{0, 0, 2});
  one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));  // state {2, 0, 2, 0}
  CHECK(m.on(ps::encoded{2, 0, 0, payload(2)}).empty());
  const auto a = m.on(ps::worker_lost{0});
  CHECK(all_of<ps::encode_and_transmit>(a).empty());
  const auto s = one_of<ps::start_iteration>(a);
  CHECK(s.resume);
  CHECK(s.iteration == 0);
  CHECK(s.to == std::vector<int>{1, 2, 3});
  CHECK(m.current_phase() == ps::phase::computing);
  // The old epoch's replies are stale now.
  CHECK(m.on(ps::encoded{2, 0, 0, payload(2)}).empty());
  // Worker 3 redoes chunk 0, worker 1 chunk 1: covered again, epoch 1.
  CHECK(m.on(ps::progress{3, 0, 1}).empty());
  CHECK(m.on(ps::progress{3, 0, 2}).empty());
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::progress{1, 0, 1}));
  CHECK(et.epoch == 1);
  CHECK(et.state == coding::state_vector{0, 1, 2, 2});
  m.on(ps::encoded{1, 0, 1, payload(1)});
  m.on(ps::encoded{2, 0, 1, payload(2)});
  const auto d = one_of<ps::decode>(m.on(ps::encoded{3, 0, 1, payload(3)}));
  CHECK(d.epoch == 1);
  CHECK(d.from == std::vector<int>{1, 2, 3});
  CHECK(d.stats.epochs == 2);
  CHECK(d.stats.workers_lost == 1);
  CHECK(d.stats.stale_dropped == 1);
}

TEST_CASE("losing a worker whose reply is already in or that sends nothing changes nothing") {
  ps m = started(proposed_config());
  m.on(ps::progress{0, 0, 2});
  m.on(ps::progress{1, 0, 1});
  one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));  // {2, 1, 2, 0}
  CHECK(m.on(ps::worker_lost{3}).empty());                       // not a sender
  CHECK(m.on(ps::encoded{1, 0, 0, payload(1)}).empty());
  CHECK(m.on(ps::worker_lost{1}).empty());  // replied already
  m.on(ps::encoded{0, 0, 0, payload(0)});
  const auto d = one_of<ps::decode>(m.on(ps::encoded{2, 0, 0, payload(2)}));
  CHECK(d.from == std::vector<int>{0, 1, 2});
  // The next iteration waits for the lost workers to come back.
  CHECK(m.on(ps::model_ready{1}).empty());
  m.on(ps::worker_joined{1});
  CHECK(one_of<ps::start_iteration>(m.on(ps::worker_joined{3})).iteration == 1);
}

TEST_CASE("a worker that rejoins while the ps awaits replies starts on the resume") {
  ps m = started(proposed_config());
  m.on(ps::progress{0, 0, 2});
  one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));  // {2, 0, 2, 0}
  CHECK(m.on(ps::worker_lost{1}).empty());
  const auto j = m.on(ps::worker_joined{1});
  CHECK(j.size() == 1);  // only Welcome: it never computed this state
  const auto s = one_of<ps::start_iteration>(m.on(ps::worker_lost{2}));
  CHECK(s.to == std::vector<int>{0, 1, 3});
}

TEST_CASE("approximate mode signals at the deadline with the partial state") {
  ps m(proposed_config(signal_mode::approximate, 2));
  m.on(ps::model_ready{0});
  for (int w = 0; w < 3; ++w)
    m.on(ps::worker_joined{w});
  const auto a = m.on(ps::worker_joined{3});
  const auto arm = one_of<ps::arm_deadline>(a);
  CHECK(arm.iteration == 0);
  CHECK(arm.after == std::chrono::milliseconds(250));
  CHECK(m.on(ps::deadline_fired{7}).empty());  // another iteration's timer
  m.on(ps::progress{1, 0, 1});
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::deadline_fired{0}));
  CHECK(et.state == coding::state_vector{0, 1, 0, 0});
  const auto d = one_of<ps::decode>(m.on(ps::encoded{1, 0, 0, payload(1, 2)}));
  CHECK(d.stats.by_deadline);
  CHECK_FALSE(d.stats.exact);
  const auto r = decode_gradient(*m.config().code, d, 4);
  CHECK(r.expected_error > 0.0);
  CHECK(r.gradient.size() == 4);
}

TEST_CASE("approximate mode waits for the first progress after an empty deadline") {
  ps m = started(proposed_config(signal_mode::approximate));
  CHECK(m.on(ps::deadline_fired{0}).empty());
  CHECK(one_of<ps::encode_and_transmit>(m.on(ps::progress{3, 0, 1})).state ==
        coding::state_vector{0, 0, 0, 1});
}

TEST_CASE("approximate mode signals early when exact readiness comes first") {
  ps m = started(proposed_config(signal_mode::approximate));
  m.on(ps::progress{0, 0, 2});
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2}));
  CHECK(et.epoch == 0);
  CHECK(m.on(ps::deadline_fired{0}).empty());  // too late to matter now
  m.on(ps::encoded{0, 0, 0, payload(0)});
  const auto d = one_of<ps::decode>(m.on(ps::encoded{2, 0, 0, payload(0)}));
  CHECK(d.stats.exact);
  CHECK_FALSE(d.stats.by_deadline);
}

TEST_CASE("after the deadline a lost sender is replaced by a re-signal at once") {
  ps m = started(proposed_config(signal_mode::approximate));
  m.on(ps::progress{0, 0, 1});
  m.on(ps::progress{1, 0, 1});
  CHECK(one_of<ps::encode_and_transmit>(m.on(ps::deadline_fired{0})).state ==
        coding::state_vector{1, 1, 0, 0});
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::worker_lost{0}));
  CHECK(et.epoch == 1);
  CHECK(et.state == coding::state_vector{0, 1, 0, 0});
}

TEST_CASE("the original code signals at n minus s finishers and waits for exactly them") {
  scheme_spec spec;
  spec.kind = coding::scheme_kind::original;
  spec.workers = 4;
  spec.load = 2;
  spec.ell = 1;
  ps_config c;
  c.code = make_scheme(spec);
  c.protocol.dimension = 3;
  ps m(c);
  m.on(ps::model_ready{0});
  for (int w = 0; w < 4; ++w)
    m.on(ps::worker_joined{w});
  m.on(ps::progress{0, 0, 1});  // partial work counts for nothing
  m.on(ps::progress{1, 0, 2});
  m.on(ps::progress{2, 0, 2});
  const auto et = one_of<ps::encode_and_transmit>(m.on(ps::progress{3, 0, 2}));  // 3 = N - s
  CHECK(et.state == coding::state_vector{1, 2, 2, 2});
  CHECK(one_of<ps::send_error>(m.on(ps::encoded{0, 0, 0, payload(0, 3)})).code ==
        core::errc::protocol_violation);
  m.on(ps::encoded{1, 0, 0, payload(1, 3)});
  m.on(ps::encoded{2, 0, 0, payload(2, 3)});
  const auto d = one_of<ps::decode>(m.on(ps::encoded{3, 0, 0, payload(3, 3)}));
  CHECK(d.from == std::vector<int>{1, 2, 3});
  CHECK(d.stats.chunks_used == 6);
  CHECK(d.stats.chunks_processed == 7);
}

TEST_CASE("an ignore-stragglers step is exact only when no chunk is missing") {
  // N = 4, load 2, ell = 1: ignore tolerates one straggler. Ready at three finishers, with a
  // rescaled sum of three chunks: not exact, though the PS signals without any deadline. With
  // load 1 it tolerates none and waits for all four: exact.
  for (const bool all : {false, true}) {
    scheme_spec spec;
    spec.kind = coding::scheme_kind::ignore_stragglers;
    spec.workers = 4;
    spec.load = all ? 1 : 2;
    spec.ell = 1;
    ps_config c;
    c.code = make_scheme(spec);
    c.protocol.dimension = 3;
    ps m(c);
    m.on(ps::model_ready{0});
    for (int w = 0; w < 4; ++w)
      m.on(ps::worker_joined{w});
    const int finishers = all ? 4 : 3;
    std::vector<ps::action> last;
    for (int w = 0; w < finishers; ++w)
      last = m.on(ps::progress{w, 0, 1});
    const auto et = one_of<ps::encode_and_transmit>(last);
    std::vector<ps::action> out;
    for (int w : c.code->senders(et.state))
      out = m.on(ps::encoded{w, 0, 0, payload(w, 3)});
    const auto d = one_of<ps::decode>(out);
    CHECK(d.stats.exact == all);
    CHECK_FALSE(d.stats.by_deadline);  // the scheme was ready: no deadline involved
  }
}

TEST_CASE("random garbage events never make the ps throw") {
  std::mt19937_64 rng(11);
  const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (const auto mode : {signal_mode::exact, signal_mode::approximate}) {
    ps m(proposed_config(mode, 2));
    for (int step = 0; step < 20000; ++step) {
      const int w = pick(-1, 4);
      const auto it = static_cast<std::uint64_t>(pick(0, 3));
      ps::event e;
      switch (pick(0, 5)) {
        case 0:
          e = ps::worker_joined{w};
          break;
        case 1:
          e = ps::worker_lost{w};
          break;
        case 2:
          e = ps::progress{w, it, pick(-1, 3)};
          break;
        case 3:
          e = ps::encoded{w, it, static_cast<std::uint32_t>(pick(0, 2)),
                          payload(0, static_cast<std::size_t>(pick(1, 3)))};
          break;
        case 4:
          e = ps::deadline_fired{it};
          break;
        default:
          e = ps::model_ready{it};
          break;
      }
      CHECK_NOTHROW(m.on(std::move(e)));
    }
    CHECK(m.stale_dropped() + m.joined_count() > 0);  // the events did reach the machine
  }
}

TEST_CASE("too few workers for an exact step and the wait policy: a notice then waiting") {
  // Worker w holds chunks w and w + 1: without workers 0 and 1 nobody holds chunk 1.
  ps m = started(proposed_config());
  auto a = m.on(ps::worker_lost{0});
  CHECK(all_of<ps::notice>(a).empty());  // workers 1..3 still cover every chunk
  a = m.on(ps::worker_lost{1});
  CHECK(one_of<ps::notice>(a).text.find("cannot give every chunk") != std::string::npos);
  CHECK(one_of<ps::notice>(a).text.find("waiting") != std::string::npos);
  CHECK(m.on(ps::progress{2, 0, 2}).empty());
  CHECK(m.on(ps::progress{3, 0, 2}).empty());  // all they can do: no signal
  CHECK(m.current_phase() == ps::phase::computing);
  a = m.on(ps::worker_joined{1});
  CHECK(one_of<ps::notice>(a).text.find("enough workers again") != std::string::npos);
  CHECK(one_of<ps::start_iteration>(a).to == std::vector<int>{1});
  a = m.on(ps::progress{1, 0, 1});  // chunk 1: every chunk is covered now
  CHECK(one_of<ps::encode_and_transmit>(a).state == coding::state_vector{0, 1, 2, 2});
}

TEST_CASE("too few workers and the approximate policy: a signal once the rest is done") {
  ps_config c = proposed_config();
  c.run.on_shortfall = shortfall_policy::approximate;
  c.run.min_workers = 2;
  c.run.first_iteration_workers = 4;
  ps m = started(c);
  m.on(ps::worker_lost{0});
  auto a = m.on(ps::worker_lost{1});
  CHECK(one_of<ps::notice>(a).text.find("approximately") != std::string::npos);
  CHECK(all_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 2})).empty());
  CHECK(all_of<ps::encode_and_transmit>(m.on(ps::progress{3, 0, 1})).empty());
  a = m.on(ps::progress{3, 0, 2});
  const auto signal = one_of<ps::encode_and_transmit>(a);
  CHECK(signal.state == coding::state_vector{0, 0, 2, 2});
  a = m.on(ps::encoded{2, 0, 0, payload(1)});
  a = m.on(ps::encoded{3, 0, 0, payload(2)});
  const auto job = one_of<ps::decode>(a);
  CHECK_FALSE(job.stats.exact);
  CHECK(job.stats.shortfall);
  CHECK(job.stats.workers_lost == 2);
  // The next iteration with the same two workers falls short again.
  a = m.on(ps::model_ready{1});
  CHECK(one_of<ps::start_iteration>(a).to == std::vector<int>{2, 3});
  CHECK(all_of<ps::notice>(a).size() == 1);
}

TEST_CASE("too few workers and the stop policy: shutdown with a failure") {
  ps_config c = proposed_config();
  c.run.on_shortfall = shortfall_policy::stop;
  ps m = started(c);
  m.on(ps::worker_lost{1});
  const auto a = m.on(ps::worker_lost{2});
  const auto s = one_of<ps::shutdown>(a);
  CHECK(s.failure);
  CHECK(s.to == std::vector<int>{0, 3});
  CHECK(s.reason.find("cannot give every chunk") != std::string::npos);
  CHECK(m.current_phase() == ps::phase::finished);
  CHECK(m.on(ps::progress{0, 0, 2}).size() <= 1);  // nothing starts again
}

// Found by tests/fuzz (corpus/ps_machine/regression_progress_from_unstarted_worker): a worker
// that rejoined while the PS awaited replies was counted by its progress, so the next signal
// awaited a reply from it without sending it EncodeAndTransmit, and the iteration stalled.
TEST_CASE("progress from a worker that rejoined while the ps awaited replies is refused") {
  ps m = started(proposed_config());
  m.on(ps::progress{3, 0, 2});  // chunks 3 and 0
  m.on(ps::progress{1, 0, 1});  // chunk 1
  const auto first = one_of<ps::encode_and_transmit>(m.on(ps::progress{2, 0, 1}));
  CHECK(first.state == coding::state_vector{0, 1, 1, 2});
  CHECK(m.on(ps::worker_lost{0}).empty());  // not a sender
  CHECK(all_of<ps::start_iteration>(m.on(ps::worker_joined{0})).empty());
  const auto refused = one_of<ps::send_error>(m.on(ps::progress{0, 0, 2}));
  CHECK(refused.worker == 0);
  CHECK(refused.code == core::errc::protocol_violation);
  CHECK(m.state()[0] == 0);
  // Losing a sender: chunk 1 has no other copy, so the workers resume, worker 0 among them.
  const auto a = m.on(ps::worker_lost{1});
  CHECK(all_of<ps::encode_and_transmit>(a).empty());
  const auto resume = one_of<ps::start_iteration>(a);
  CHECK(resume.resume);
  CHECK(resume.to == std::vector<int>{0, 2, 3});
}
