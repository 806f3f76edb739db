#include <doctest/doctest.h>

#include "detail/wire_convert.hpp"
#include "pgc/core/error.hpp"
#include "pgc/nodes/scheme_spec.hpp"

using namespace pgc;
using namespace pgc::nodes;
namespace wire = pgc::net::wire;

namespace {

// The Welcome the PS sends worker 1 of this scheme (d = 5).
detail::message_ptr welcome_for(const scheme_spec& spec) {
  const auto code = make_scheme(spec);
  detail::welcome_fields f;
  f.spec = spec;
  f.code = code.get();
  f.dimension = 5;
  f.heartbeat_ms = 250;
  return detail::make_welcome(f, 1);
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
    CHECK(info.heartbeat_ms == 250);
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
