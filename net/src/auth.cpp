#include "pgc/net/auth.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "pgc/core/error.hpp"

namespace pgc::net {

namespace {

// HMAC-SHA256 over the concatenation of `parts` (each a byte span).
mac hmac(std::string_view secret, std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::vector<std::uint8_t> data;
  for (const auto& p : parts)
    data.insert(data.end(), p.begin(), p.end());
  mac out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

nonce random_nonce() {
  nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    throw std::runtime_error("no random bytes for a nonce (RAND_bytes failed)");
  }
  return n;
}

mac hello_mac(std::string_view secret, std::span<const std::uint8_t> ps_nonce,
              std::span<const std::uint8_t> worker_nonce, std::string_view worker_name) {
  return hmac(secret, {bytes("pgc hello"), ps_nonce, worker_nonce, bytes(worker_name)});
}

mac welcome_mac(std::string_view secret, std::span<const std::uint8_t> worker_nonce,
                std::span<const std::uint8_t> ps_nonce, std::uint32_t worker_id) {
  const std::uint8_t id[4] = {static_cast<std::uint8_t>(worker_id),
                              static_cast<std::uint8_t>(worker_id >> 8),
                              static_cast<std::uint8_t>(worker_id >> 16),
                              static_cast<std::uint8_t>(worker_id >> 24)};
  return hmac(secret, {bytes("pgc welcome"), worker_nonce, ps_nonce, std::span(id)});
}

bool same_mac(std::span<const std::uint8_t> a, const mac& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), b.size()) == 0;
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw core::input_error("cannot read secret file '" + path + "': " + std::strerror(errno));
  }
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  if (secret.size() < 16) {
    throw core::input_error("secret file '" + path +
                            "' holds fewer than 16 bytes; use e.g. `head -c 32 /dev/urandom | "
                            "base64 > FILE`");
  }
  return secret;
}

}  // namespace pgc::net
