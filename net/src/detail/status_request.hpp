#pragma once

// The pure parts of the status server's request handling: splitting the target and finding the
// access token. No sockets, so they are tested on their own
// (tests/net/test_status_server_request.cpp).

#include <optional>
#include <string>
#include <string_view>

namespace pgc::net::detail {

struct request_target {
  std::string path;                  // percent-decoded, without the query
  std::optional<std::string> token;  // ?token=..., percent-decoded; the first one wins
};

// Nullopt when the target is not an origin-form path ("/..."), or its percent-encoding is bad.
std::optional<request_target> parse_target(std::string_view target);

// "Bearer T" (scheme case-insensitive) -> T; nullopt for any other form.
std::optional<std::string> bearer_token(std::string_view authorization);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), percent-decoded.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// Compares in time independent of where the strings first differ, so that the answer times of a
// public dashboard do not reveal the token byte by byte.
bool token_matches(std::string_view given, std::string_view expected) noexcept;

std::string percent_encode(std::string_view text);
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace pgc::net::detail
