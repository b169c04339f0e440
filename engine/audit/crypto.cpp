// The public hashing helpers of audit.h: SHA-256 of bytes and of files, HMAC-SHA256 for
// pseudonymising personal identifiers. OpenSSL libcrypto does the work.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "audit/audit.h"
#include "audit/detail/canonical.h"

namespace crible::audit {

void ready_crypto() {
  if (OPENSSL_init_crypto(0, nullptr) != 1) throw CryptoFailure("libcrypto could not start");
  detail::Sha256 sha;
  sha.init();  // fetches SHA-256 for the process (canonical.cpp)
}

std::string sha256_hex(const std::string& bytes) {
  detail::Sha256 sha;
  return detail::to_hex(sha.digest(bytes));
}

Result<std::string> sha256_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  detail::Sha256 sha;
  sha.init();
  // Streamed: input files may be far larger than memory should hold just to hash them.
  std::unique_ptr<unsigned char[]> buf(new unsigned char[1 << 16]);
  for (;;) {
    const size_t n = std::fread(buf.get(), 1, 1 << 16, f.get());
    if (n > 0) sha.update(buf.get(), n);
    if (n < (1 << 16)) {
      if (std::ferror(f.get())) return Error{"cannot read " + path + ": " + std::strerror(errno)};
      break;
    }
  }
  return detail::to_hex(sha.final());
}

std::string hmac_sha256_hex(const std::string& key, const std::string& value) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(value.data()), value.size(), out, &n) == nullptr)
    throw CryptoFailure("libcrypto could not compute an HMAC-SHA256");
  return detail::to_hex(out, n);
}

Hmac::Hmac(const std::string& key) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac != nullptr) ctx_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (ctx_ == nullptr ||
      EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx_);
    throw CryptoFailure("libcrypto could not set up HMAC-SHA256");
  }
}

Hmac::~Hmac() { EVP_MAC_CTX_free(ctx_); }

std::string Hmac::hex(std::string_view value) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t n = 0;
  // Initialising without a key starts a new message under the key already set.
  if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(value.data()), value.size()) != 1 ||
      EVP_MAC_final(ctx_, out, &n, sizeof out) != 1)
    throw CryptoFailure("libcrypto could not compute an HMAC-SHA256");
  return detail::to_hex(out, n);
}

}  // namespace crible::audit
