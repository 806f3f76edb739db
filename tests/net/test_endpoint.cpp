#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/net/endpoint.hpp"

using pgc::net::endpoint;
using pgc::net::parse_endpoint;

TEST_CASE("an endpoint parses host and port in all three spellings") {
  CHECK(parse_endpoint("127.0.0.1:7000") == endpoint{"127.0.0.1", 7000});
  CHECK(parse_endpoint("ps.example:0") == endpoint{"ps.example", 0});
  CHECK(parse_endpoint("[::1]:65535") == endpoint{"::1", 65535});
  CHECK(parse_endpoint("[::1]:80").to_string() == "[::1]:80");
  CHECK(parse_endpoint("localhost:80").to_string() == "localhost:80");
}

TEST_CASE("a malformed endpoint is rejected with a reason") {
  for (const char* bad : {"", "host", ":80", "host:", "host:http", "host:70000", "host:-1",
                          "::1:80", "[::1]80", "[::1:80", "host:80x"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_endpoint(bad), pgc::core::input_error);
  }
  CHECK_THROWS_WITH(parse_endpoint("host:http"), doctest::Contains("port must be a number"));
}
