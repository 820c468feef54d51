/* SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP, whose dispatch costs
   more than the hash of a short message; hush uses them for HMAC with precomputed pads. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
