#include <vector>

#include <doctest/doctest.h>

#include "pgc/coding/baselines.hpp"
#include "pgc/core/error.hpp"
#include "pgc/nodes/scheme_spec.hpp"
#include "pgc/nodes/worker_machine.hpp"

using namespace pgc;
using namespace pgc::nodes;
using wm = worker_machine;

namespace {

template <class T>
std::vector<T> all_of(const std::vector<wm::action>& actions) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (const auto* t = std::get_if<T>(&a)) out.push_back(*t);
  }
  return out;
}

template <class T>
T one_of(const std::vector<wm::action>& actions) {
  const auto found = all_of<T>(actions);
  REQUIRE(found.size() == 1);
  return found.front();
}

// Worker 1 of N = 4, cyclic load 3: chunks 1, 2, 3 in that order.
worker_config config(coding::scheme_kind kind = coding::scheme_kind::proposed) {
  scheme_spec spec;
  spec.kind = kind;
  spec.workers = 4;
  spec.load = 3;
  spec.ell = 1;
  return {1, make_scheme(spec), 5};
}

wm welcomed(coding::scheme_kind kind = coding::scheme_kind::proposed) {
  wm m;
  CHECK(m.on(wm::welcome{config(kind)}).empty());
  return m;
}

// Finish the chunk in flight; returns the actions.
std::vector<wm::action> finish(wm& m, const wm::compute_chunk& c) {
  return m.on(wm::chunk_computed{c.ticket});
}

}  // namespace

TEST_CASE("a worker answers messages before welcome with an error") {
  wm m;
  CHECK(one_of<wm::send_error>(m.on(wm::start_iteration{0})).code ==
        core::errc::protocol_violation);
  CHECK(one_of<wm::send_error>(m.on(wm::encode_and_transmit{0, 0, {1, 1, 1, 1}})).code ==
        core::errc::protocol_violation);
  CHECK(one_of<wm::send_error>(m.on(wm::welcome{worker_config{}})).code ==
        core::errc::invalid_input);
  auto bad = config();
  bad.worker = 4;
  CHECK(one_of<wm::send_error>(m.on(wm::welcome{bad})).code == core::errc::invalid_input);
  CHECK_FALSE(m.configured());
}

TEST_CASE("a worker processes its list in order one chunk at a time and reports each") {
  wm m = welcomed();
  auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{4}));
  CHECK(c.iteration == 4);
  CHECK(c.position == 0);
  CHECK(c.chunk == 1);
  for (int p = 1; p <= 3; ++p) {
    const auto a = finish(m, c);
    const auto k = one_of<wm::keep_gradient>(a);
    CHECK(k.position == p - 1);
    CHECK(k.iteration == 4);
    CHECK(one_of<wm::send_progress>(a).chunks_done == p);
    if (p < 3) {
      c = one_of<wm::compute_chunk>(a);
      CHECK(c.position == p);
      CHECK(c.chunk == 1 + p);
    } else {
      CHECK(all_of<wm::compute_chunk>(a).empty());
    }
  }
  CHECK(m.chunks_done() == 3);
  CHECK_FALSE(m.computing());
}

TEST_CASE("encode and transmit stops the worker and encodes the chunks within the state") {
  wm m = welcomed();
  auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{0}));
  c = one_of<wm::compute_chunk>(finish(m, c));  // chunk 1 done, chunk 2 in flight
  const auto e = one_of<wm::encode>(m.on(wm::encode_and_transmit{0, 0, {0, 1, 0, 0}}));
  CHECK(e.chunks == 1);
  CHECK(e.epoch == 0);
  CHECK(e.state == coding::state_vector{0, 1, 0, 0});
  CHECK(m.stopped());
  // The chunk in flight finishes: kept and reported, but nothing new starts.
  const auto a = finish(m, c);
  CHECK(one_of<wm::keep_gradient>(a).position == 1);
  CHECK(one_of<wm::send_progress>(a).chunks_done == 2);
  CHECK(all_of<wm::compute_chunk>(a).empty());
  // Stale epochs and iterations are dropped quietly.
  CHECK(m.on(wm::encode_and_transmit{0, 0, {0, 1, 0, 0}}).empty());
  CHECK(m.stale_dropped() == 1);
  // A re-signal after a lost sender re-encodes, now with the extra chunk.
  CHECK(one_of<wm::encode>(m.on(wm::encode_and_transmit{0, 3, {0, 2, 0, 0}})).chunks == 2);
  CHECK(m.on(wm::encode_and_transmit{0, 2, {0, 2, 0, 0}}).empty());
}

TEST_CASE("a resume continues the iteration where the worker stopped") {
  wm m = welcomed();
  auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{2}));
  finish(m, c);  // the next chunk starts
  CHECK(m.computing());
  one_of<wm::encode>(m.on(wm::encode_and_transmit{2, 0, {0, 1, 0, 0}}));
  const auto a = m.on(wm::chunk_computed{c.ticket + 1});
  CHECK(all_of<wm::compute_chunk>(a).empty());
  CHECK(m.chunks_done() == 2);
  c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{2}));
  CHECK(c.position == 2);
  CHECK(all_of<wm::drop_gradients>(m.on(wm::start_iteration{2})).empty());  // no second chunk
  CHECK(one_of<wm::encode>(m.on(wm::encode_and_transmit{2, 1, {0, 2, 0, 0}})).chunks == 2);
}

TEST_CASE("a new iteration drops the old gradients and makes the chunk in flight stale") {
  wm m = welcomed();
  const auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{0}));
  const auto a = m.on(wm::start_iteration{1});
  CHECK(one_of<wm::drop_gradients>(a).iteration == 0);
  const auto c1 = one_of<wm::compute_chunk>(a);
  CHECK(c1.iteration == 1);
  CHECK(c1.ticket != c.ticket);
  CHECK(m.on(wm::chunk_computed{c.ticket}).empty());  // the old result is discarded
  CHECK(one_of<wm::keep_gradient>(finish(m, c1)).iteration == 1);
  // Old iterations' messages are stale.
  CHECK(m.on(wm::start_iteration{0}).empty());
  CHECK(m.on(wm::encode_and_transmit{0, 5, {0, 1, 0, 0}}).empty());
  CHECK(m.stale_dropped() == 3);
}

TEST_CASE("a state vector the worker cannot honour is an error") {
  wm m = welcomed();
  const auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{0}));
  finish(m, c);
  SUBCASE("more chunks than computed") {
    CHECK(one_of<wm::send_error>(m.on(wm::encode_and_transmit{0, 0, {0, 2, 0, 0}})).code ==
          core::errc::protocol_violation);
  }
  SUBCASE("wrong size") {
    CHECK(one_of<wm::send_error>(m.on(wm::encode_and_transmit{0, 0, {0, 1, 0}})).code ==
          core::errc::invalid_input);
  }
  SUBCASE("entry out of range") {
    CHECK(one_of<wm::send_error>(m.on(wm::encode_and_transmit{0, 0, {0, 1, 4, 0}})).code ==
          core::errc::invalid_input);
    CHECK(one_of<wm::send_error>(m.on(wm::encode_and_transmit{0, 0, {-1, 1, 0, 0}})).code ==
          core::errc::invalid_input);
  }
  SUBCASE("an iteration that has not started") {
    CHECK(one_of<wm::send_error>(m.on(wm::encode_and_transmit{1, 0, {0, 1, 0, 0}})).code ==
          core::errc::protocol_violation);
  }
  // The worker keeps going after rejecting it.
  CHECK_FALSE(m.stopped());
  CHECK(one_of<wm::encode>(m.on(wm::encode_and_transmit{0, 0, {0, 1, 0, 0}})).chunks == 1);
}

TEST_CASE("a classic scheme worker sends nothing before it finished its list") {
  wm m = welcomed(coding::scheme_kind::original);
  auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{0}));
  c = one_of<wm::compute_chunk>(finish(m, c));
  const auto a = m.on(wm::encode_and_transmit{0, 0, {3, 1, 3, 3}});
  CHECK(a.empty());
  CHECK(m.stopped());
}

TEST_CASE("losing the connection or a new welcome forgets the iteration") {
  wm m = welcomed();
  const auto c = one_of<wm::compute_chunk>(m.on(wm::start_iteration{3}));
  CHECK(one_of<wm::drop_gradients>(m.on(wm::connection_lost{})).iteration == 3);
  CHECK_FALSE(m.iteration());
  CHECK(m.on(wm::chunk_computed{c.ticket}).empty());
  CHECK(m.on(wm::welcome{config()}).empty());
  // Iteration 3 again on the new connection starts from scratch with a fresh ticket.
  const auto c2 = one_of<wm::compute_chunk>(m.on(wm::start_iteration{3}));
  CHECK(c2.position == 0);
  CHECK(c2.ticket != c.ticket);
  CHECK(one_of<wm::drop_gradients>(m.on(wm::welcome{config()})).iteration == 3);
}

TEST_CASE("shutdown drops the gradients and stops the worker for good") {
  wm m = welcomed();
  one_of<wm::compute_chunk>(m.on(wm::start_iteration{0}));
  const auto a = m.on(wm::shutdown{});
  CHECK(one_of<wm::drop_gradients>(a).iteration == 0);
  CHECK(all_of<wm::stop>(a).size() == 1);
  CHECK(m.on(wm::start_iteration{1}).empty());
}
