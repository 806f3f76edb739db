#pragma once

// Shared-secret authentication of the PS-worker handshake (HMAC-SHA256, OpenSSL):
//   PS -> worker   Challenge(ps_nonce)                    first message on a new connection
//   worker -> PS   Hello(..., nonce, mac = HMAC(secret, "pgc hello" | ps_nonce | nonce | name))
//   PS -> worker   Welcome(..., mac = HMAC(secret, "pgc welcome" | nonce | ps_nonce | id))
// Both ends prove they hold the secret, and fresh nonces on both sides stop replays. Without a
// secret neither side sends or expects any of it.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgc::net {

inline constexpr std::size_t nonce_bytes = 32;
using nonce = std::array<std::uint8_t, nonce_bytes>;
using mac = std::array<std::uint8_t, 32>;

// From the system's CSPRNG (OpenSSL RAND_bytes); throws std::runtime_error if it fails.
nonce random_nonce();

mac hello_mac(std::string_view secret, std::span<const std::uint8_t> ps_nonce,
              std::span<const std::uint8_t> worker_nonce, std::string_view worker_name);
mac welcome_mac(std::string_view secret, std::span<const std::uint8_t> worker_nonce,
                std::span<const std::uint8_t> ps_nonce, std::uint32_t worker_id);

// Constant-time comparison; false for a different length.
bool same_mac(std::span<const std::uint8_t> a, const mac& b);

// The secret in `path`: its bytes without a trailing newline. Throws core::input_error naming the
// file when it cannot be read, is empty, or is shorter than 16 bytes.
std::string read_secret_file(const std::string& path);

}  // namespace pgc::net
