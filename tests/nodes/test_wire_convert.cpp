#include <chrono>
#include <cmath>
#include <span>

#include <doctest/doctest.h>

#include "detail/wire_convert.hpp"
#include "pgc/core/error.hpp"
#include "pgc/nodes/protocol_config.hpp"
#include "pgc/nodes/scheme_spec.hpp"

using namespace pgc;
using namespace pgc::nodes;
namespace wire = pgc::net::wire;

namespace {

// The Welcome the PS sends worker 1 of this scheme (d = 5).
detail::message_ptr welcome_for(const scheme_spec& spec) {
  const auto code = make_scheme(spec);
  protocol_config p;
  p.scheme = spec;
  p.dimension = 5;
  p.heartbeat = std::chrono::milliseconds(250);
  p.heartbeat_misses = 6;
  return detail::make_welcome(p, *code, 1);
}

wire::Welcome::Builder welcome_of(detail::message_ptr& m) {
  return m->getRoot<wire::Envelope>().getWelcome();
}

}  // namespace

TEST_CASE("a worker rebuilds the ps's scheme from its welcome") {
  for (const auto kind : {coding::scheme_kind::proposed, coding::scheme_kind::ignore_stragglers}) {
    scheme_spec spec;
    spec.kind = kind;
    spec.workers = 4;
    spec.load = 2;
    spec.ell = 1;
    spec.seed = 5;
    auto m = welcome_for(spec);
    const auto info = detail::read_welcome(welcome_of(m).asReader());
    CHECK(info.worker == 1);
    CHECK(info.dimension == 5);
    CHECK(info.heartbeat == std::chrono::milliseconds(250));  // the PS's, which workers adopt
    CHECK(info.heartbeat_misses == 6);
    // R goes on the wire only for the scheme that needs it.
    CHECK(welcome_of(m).hasR() == (kind == coding::scheme_kind::proposed));
    const auto code = make_scheme(info.spec);
    CHECK(code->workers() == 4);
    CHECK(code->chunks() == 4);
    CHECK(code->tasks().lists() == make_scheme(spec)->tasks().lists());
  }
}

// Found by tests/fuzz: load = 2^31 was read as INT_MIN, and ignore-stragglers' load - ell
// overflowed (undefined behaviour) before the scheme could refuse it.
TEST_CASE("a welcome whose counts do not fit in an int is refused with an input error") {
  scheme_spec spec;
  spec.kind = coding::scheme_kind::ignore_stragglers;
  spec.workers = 4;
  spec.load = 2;
  auto m = welcome_for(spec);
  welcome_of(m).setLoad(0x80000000u);
  CHECK_THROWS_AS(detail::read_welcome(welcome_of(m).asReader()), core::input_error);
  welcome_of(m).setLoad(2);
  welcome_of(m).setWorkers(0xffffffffu);
  CHECK_THROWS_AS(detail::read_welcome(welcome_of(m).asReader()), core::input_error);
}

TEST_CASE("a float32 payload round trip stays within one float rounding of the doubles") {
  Eigen::VectorXd y = Eigen::VectorXd::Random(1000);
  y(0) = 1e30;    // large and tiny magnitudes round relative to themselves
  y(1) = 3e-30;
  y(2) = 0.0;
  for (const auto precision : {wire_precision::f64, wire_precision::f32}) {
    auto m = detail::make_encoded(4, 1, y, precision);
    const auto e = m->getRoot<wire::Envelope>().asReader().getEncoded();
    CHECK(e.getIteration() == 4);
    CHECK(e.getEpoch() == 1);
    CHECK((precision == wire_precision::f32 ? e.getPayload32().size() : e.getPayload().size()) ==
          1000);
    const auto back = detail::read_payload(e);
    REQUIRE(back.size() == 1000);
    const Eigen::Map<const Eigen::VectorXd> got(back.data(), 1000);
    if (precision == wire_precision::f64) {
      CHECK(got == y);
      continue;
    }
    // Round to nearest: within half a unit in the last place, 2^-24 relative, entry by entry and
    // so in norm.
    const double u = std::ldexp(1.0, -24);
    for (Eigen::Index k = 0; k < y.size(); ++k)
      CHECK(std::abs(got(k) - y(k)) <= u * std::abs(y(k)));
    CHECK((got - y).norm() <= u * y.norm());
    CHECK((got - y).norm() > 0.0);  // really rounded
  }
}

TEST_CASE("empty lists read as empty vectors, in either precision") {
  // An empty list has no bytes (a null pointer): found by the frame fuzzer under UBSan.
  for (const auto precision : {wire_precision::f64, wire_precision::f32}) {
    auto m = detail::make_encoded(2, 0, Eigen::VectorXd(), precision);
    const auto e = m->getRoot<wire::Envelope>().asReader().getEncoded();
    CHECK(detail::read_payload(e).empty());
    CHECK(detail::read_doubles(e.getPayload()).empty());
  }
}

TEST_CASE("an encoded message built in place in a pooled segment equals the plain one") {
  const Eigen::VectorXd y = Eigen::VectorXd::Random(5000);
  const auto pool = net::segment_pool::create(1);
  // One slot of shared memory: the second round reuses (and first clears) what the first wrote.
  const auto region = net::shm_region::create(1, net::list_message_words(5000, sizeof(double)));
  for (auto* shared : {static_cast<net::shm_region*>(nullptr), region.get()}) {
    const bool in_shared_memory = shared != nullptr;
    CAPTURE(in_shared_memory);
    for (const auto precision : {wire_precision::f64, wire_precision::f32}) {
      for (int round = 0; round < 2; ++round) {
        int calls = 0;
        auto built = detail::build_encoded(*pool, shared, 9, 2, precision, 5000,
                                           [&](int offset, std::span<double> out) {
                                             ++calls;
                                             for (std::size_t k = 0; k < out.size(); ++k)
                                               out[k] = y(offset + static_cast<Eigen::Index>(k));
                                           });
        // In the slot while it lives (the slot is free again once the message is gone).
        CHECK(region->busy() == (in_shared_memory ? 1u : 0u));
        CHECK(calls == (precision == wire_precision::f64 ? 1 : 3));  // float32: 2048-entry tiles
        auto plain = detail::make_encoded(9, 2, y, precision);
        const auto e = built->getRoot<wire::Envelope>().asReader().getEncoded();
        const auto a = detail::read_payload(e);
        const auto b = detail::read_payload(plain->getRoot<wire::Envelope>().asReader().getEncoded());
        CHECK(a == b);
        CHECK(e.getEpoch() == 2);
        // A float32 message after a float64 one in the same slot: no float64 list left behind.
        CHECK(e.hasPayload() == (precision == wire_precision::f64));
      }
    }
  }
  CHECK(region->busy() == 0);
}

TEST_CASE("a model broadcast built in a reused segment carries the same model") {
  // The PS writes every iteration's StartIteration into one pooled segment; a smaller model
  // after a bigger one must not keep the bigger one's tail.
  const auto pool = net::segment_pool::create(1);
  for (const int d : {3000, 1000, 3000}) {
    CAPTURE(d);
    const Eigen::VectorXd model = Eigen::VectorXd::Random(d);
    const auto pooled = detail::make_start_iteration(7, model, pool.get());
    const auto plain = detail::make_start_iteration(7, model);
    const auto a = pooled->getRoot<wire::Envelope>().asReader().getStartIteration();
    const auto b = plain->getRoot<wire::Envelope>().asReader().getStartIteration();
    CHECK(a.getIteration() == 7);
    REQUIRE(a.getModel().size() == static_cast<unsigned>(d));
    CHECK(detail::read_doubles(a.getModel()) == detail::read_doubles(b.getModel()));
    // The whole message lies in the pooled segment.
    CHECK(pooled->getSegmentsForOutput().size() == 1);
  }
  CHECK(pool->idle() == 1);
}

TEST_CASE("the welcome tells the worker the wire precision and defaults to float64") {
  scheme_spec spec;
  spec.kind = coding::scheme_kind::proposed;
  spec.workers = 4;
  spec.load = 2;
  spec.ell = 2;
  const auto code = make_scheme(spec);
  protocol_config p;
  p.scheme = spec;
  p.dimension = 5;
  auto plain = welcome_for(spec);
  CHECK(detail::read_welcome(welcome_of(plain).asReader()).precision == wire_precision::f64);
  p.precision = wire_precision::f32;
  auto m = detail::make_welcome(p, *code, 1);
  CHECK(detail::read_welcome(welcome_of(m).asReader()).precision == wire_precision::f32);
}

TEST_CASE("the ps reads a coded vector in place from the frame it keeps, float or double") {
  const Eigen::VectorXd y = Eigen::VectorXd::Random(300);
  for (const auto precision : {wire_precision::f64, wire_precision::f32}) {
    auto m = std::shared_ptr<capnp::MessageBuilder>(detail::make_encoded(1, 0, y, precision));
    const auto e = m->getRoot<wire::Envelope>().asReader().getEncoded();
    const auto view = detail::payload_view(e, m);
    REQUIRE(view.size == 300);
    CHECK(view.owner == m);  // no copy: the message itself is kept
    const bool f32 = precision == wire_precision::f32;
    REQUIRE((view.column.f32 != nullptr) == f32);
    REQUIRE((view.column.f64 != nullptr) == !f32);
    for (int k = 0; k < 300; ++k) {
      const double got = f32 ? view.column.f32[k] : view.column.f64[k];
      CHECK(got == (f32 ? static_cast<double>(static_cast<float>(y(k))) : y(k)));
    }
    // Without an owner the payload is copied into double.
    const auto copy = detail::payload_view(e, nullptr);
    REQUIRE(copy.size == 300);
    CHECK(copy.owner != m);
    CHECK(copy.column.f64 != nullptr);
  }
}
