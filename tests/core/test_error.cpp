#include <doctest/doctest.h>

#include "pgc/core/error.hpp"

using pgc::core::errc;

TEST_CASE("project error codes carry the pgc category and a message") {
  const std::error_code ec = errc::frame_too_large;
  CHECK(ec.category().name() == std::string("pgc"));
  CHECK(ec.message() == "frame larger than the limit");
  CHECK(ec == pgc::core::make_error_code(errc::frame_too_large));
  CHECK(ec != std::error_code(errc::timeout));
  CHECK(std::error_code(static_cast<int>(errc::protocol_violation) + 100, pgc::core::category())
            .message()
            .find("unknown pgc error") == 0);
}
