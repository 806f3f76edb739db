#include <set>
#include <string>

#include <doctest/doctest.h>

#include "pgc/net/auth.hpp"

using namespace pgc;

TEST_CASE("handshake macs depend on every input and compare in constant time") {
  const net::nonce a = net::random_nonce();
  const net::nonce b = net::random_nonce();
  CHECK(a != b);
  const std::string secret = "a shared secret of some length";
  const auto m = net::hello_mac(secret, a, b, "w1");
  CHECK(net::same_mac(m, net::hello_mac(secret, a, b, "w1")));
  CHECK_FALSE(net::same_mac(m, net::hello_mac(secret + "!", a, b, "w1")));
  CHECK_FALSE(net::same_mac(m, net::hello_mac(secret, b, a, "w1")));
  CHECK_FALSE(net::same_mac(m, net::hello_mac(secret, a, b, "w2")));
  // The PS's answer is a different function of the same nonces: a Hello's mac cannot be
  // replayed as a Welcome's.
  CHECK_FALSE(net::same_mac(m, net::welcome_mac(secret, a, b, 0)));
  CHECK_FALSE(net::same_mac(net::welcome_mac(secret, b, a, 1), net::welcome_mac(secret, b, a, 2)));
  // Truncated or empty macs never match.
  CHECK_FALSE(net::same_mac(std::span<const std::uint8_t>(m.data(), 31), m));
  CHECK_FALSE(net::same_mac(std::span<const std::uint8_t>(), m));
}

TEST_CASE("nonces do not repeat") {
  std::set<net::nonce> seen;
  for (int i = 0; i < 1000; ++i)
    CHECK(seen.insert(net::random_nonce()).second);
}
