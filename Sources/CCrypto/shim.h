// libcrypto (OpenSSL) for the HMAC behind device tokens, the hashes of reader keys and random secrets.
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/// HMAC-SHA256 of `data` under `key` into `out` (32 bytes); returns 1 on success.
static inline int pipeline_hmac_sha256(const void *key, int key_len, const void *data, size_t data_len,
                                       unsigned char *out) {
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key, key_len, (const unsigned char *)data, data_len, out, &len) != NULL && len == 32;
}

/// SHA-256 of `data` into `out` (32 bytes); returns 1 on success.
static inline int pipeline_sha256(const void *data, size_t data_len, unsigned char *out) {
    unsigned int len = 0;
    return EVP_Digest(data, data_len, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}
