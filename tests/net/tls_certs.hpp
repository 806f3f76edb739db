#pragma once

// Throwaway certificates for the TLS tests, made at test time with OpenSSL (no files in the
// repository, nothing that expires): a CA, a server certificate for 127.0.0.1 and localhost, a
// client certificate, and a second CA that signed none of them.

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace pgc::test {

struct tls_files {
  std::string ca;  // PEM certificate of the CA
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca;  // a CA that signed nothing here
};

namespace detail {

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* c) const noexcept { X509_free(c); }
};
struct file_close {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificates: ") + what + " failed");
}

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer`/`issuer_key` (self-signed when null).
inline x509_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key,
                          bool is_ca, const char* san, const char* usage, long serial) {
  x509_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, usage);
    if (san) add_extension(cert.get(), signer, NID_subject_alt_name, san);
  }
  check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline pkey_ptr make_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

inline void write_cert(const std::string& path, X509* cert) {
  std::unique_ptr<std::FILE, file_close> f(std::fopen(path.c_str(), "w"));
  check(f != nullptr && PEM_write_X509(f.get(), cert) == 1, "writing a certificate");
}

inline void write_key(const std::string& path, EVP_PKEY* key) {
  std::unique_ptr<std::FILE, file_close> f(std::fopen(path.c_str(), "w"));
  check(f != nullptr &&
            PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing a key");
}

}  // namespace detail

// Writes the files into `dir` (created if needed) and returns their paths.
inline tls_files make_tls_files(const std::string& dir) {
  using namespace detail;
  std::filesystem::create_directories(dir);
  tls_files out;
  out.ca = dir + "/ca.pem";
  out.server_cert = dir + "/server.pem";
  out.server_key = dir + "/server.key";
  out.client_cert = dir + "/client.pem";
  out.client_key = dir + "/client.key";
  out.other_ca = dir + "/other-ca.pem";

  const auto ca_key = make_key();
  const auto ca = make_cert(ca_key.get(), "pgc test CA", nullptr, nullptr, true, nullptr, nullptr, 1);
  const auto server_key = make_key();
  const auto server = make_cert(server_key.get(), "pgc test PS", ca.get(), ca_key.get(), false,
                                "IP:127.0.0.1,DNS:localhost", "serverAuth", 2);
  const auto client_key = make_key();
  const auto client = make_cert(client_key.get(), "pgc test worker", ca.get(), ca_key.get(),
                                false, nullptr, "clientAuth", 3);
  const auto other_key = make_key();
  const auto other =
      make_cert(other_key.get(), "pgc other CA", nullptr, nullptr, true, nullptr, nullptr, 4);

  write_cert(out.ca, ca.get());
  write_cert(out.server_cert, server.get());
  write_key(out.server_key, server_key.get());
  write_cert(out.client_cert, client.get());
  write_key(out.client_key, client_key.get());
  write_cert(out.other_ca, other.get());
  return out;
}

}  // namespace pgc::test
