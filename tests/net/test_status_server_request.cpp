// The pure request helpers of the status server (a private header of net/src).
#include <doctest/doctest.h>

#include "../../net/src/detail/status_request.hpp"

using pgc::net::detail::bearer_token;
using pgc::net::detail::cookie_value;
using pgc::net::detail::parse_target;
using pgc::net::detail::percent_decode;
using pgc::net::detail::percent_encode;
using pgc::net::detail::token_matches;

TEST_CASE("a request target splits into a decoded path and the token parameter") {
  const auto plain = parse_target("/api/state");
  REQUIRE(plain);
  CHECK(plain->path == "/api/state");
  CHECK_FALSE(plain->token);

  const auto query = parse_target("/ws?x=1&token=a%2Fb+c&token=second");
  REQUIRE(query);
  CHECK(query->path == "/ws");
  REQUIRE(query->token);
  CHECK(*query->token == "a/b c");

  const auto empty = parse_target("/?token");
  REQUIRE(empty);
  CHECK(empty->token == std::string());

  const auto decoded = parse_target("/chart%2Ejs?tokens=1");
  REQUIRE(decoded);
  CHECK(decoded->path == "/chart.js");
  CHECK_FALSE(decoded->token);
}

TEST_CASE("targets that are not origin paths or are badly encoded are rejected") {
  CHECK_FALSE(parse_target(""));
  CHECK_FALSE(parse_target("http://example.com/"));
  CHECK_FALSE(parse_target("*"));
  CHECK_FALSE(parse_target("/a%2"));
  CHECK_FALSE(parse_target("/a%zz"));
  CHECK_FALSE(parse_target("/?token=%g0"));
}

TEST_CASE("percent encoding round trips every byte") {
  std::string all;
  for (int c = 0; c < 256; ++c)
    all.push_back(static_cast<char>(c));
  const auto encoded = percent_encode(all);
  CHECK(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                  "-._~%") == std::string::npos);
  CHECK(percent_decode(encoded, false) == all);
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("a+b", false) == "a+b");
}

TEST_CASE("the bearer token and the cookie are found in their headers") {
  CHECK(bearer_token("Bearer abc") == "abc");
  CHECK(bearer_token("  bearer   abc  ") == "abc");
  CHECK_FALSE(bearer_token("Basic abc"));
  CHECK_FALSE(bearer_token("Bearer"));
  CHECK_FALSE(bearer_token("Bearer   "));

  CHECK(cookie_value("a=1; pgc_token_80=x%2Fy; b=2", "pgc_token_80") == "x/y");
  CHECK(cookie_value("pgc_token_80=z", "pgc_token_80") == "z");
  CHECK_FALSE(cookie_value("pgc_token_8080=z", "pgc_token_80"));
  CHECK_FALSE(cookie_value("", "pgc_token_80"));
}

TEST_CASE("tokens match only when equal") {
  CHECK(token_matches("s3cret", "s3cret"));
  CHECK_FALSE(token_matches("s3creT", "s3cret"));
  CHECK_FALSE(token_matches("s3cre", "s3cret"));
  CHECK_FALSE(token_matches("", "s3cret"));
  CHECK(token_matches("", ""));
}
