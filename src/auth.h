/*
 * auth: docs/API.md "Credentials" as pure functions over OpenSSL's libcrypto
 * (SHA-256, HMAC-SHA256, CRYPTO_memcmp, RAND_bytes): finding the
 * credentials in a request, verifying the oauth_token JWT (HS256 only),
 * hashing secrets for storage, and the role rules. No I/O.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "http.h"

#define AUTH_HASH_LEN	32	/* SHA-256 */
#define AUTH_SECRET_MAX	256	/* longest key or token accepted */

enum role {
	ROLE_VIEWER,	/* reads */
	ROLE_EDITOR,	/* reads and writes backfills */
	ROLE_OWNER,	/* everything */
	ROLE__MAX
};

const char	*role_name(enum role);
int		 role_from(const char *);	/* -1 if none */

/* Whether a role may use a method (reads are GET/HEAD; the rest write). */
int	 role_allows(enum role, enum method);

/* SHA-256 of a secret, as stored in place of the secret. */
void	 auth_hash(const char *secret, size_t len,
	    unsigned char out[AUTH_HASH_LEN]);

/* Finds the API key: X-API-KEY, else the api_key query parameter, else
 * "api_key" at the root of a JSON object body. Copies it into out and
 * returns 0, or -1 when there is none (or it is too long). */
int	 auth_find_key(const struct request *, char *out, size_t outlen);

/* Finds the raw token: "Authorization: Bearer T", else "OAUTH-TOKEN: T",
 * else the oauth_token cookie verified as a JWT with secret (an
 * Authorization header of another scheme is passed over). Returns
 * ERR_OK with the token in out, or ERR_INVALID_TOKEN. */
enum err auth_find_token(const struct request *, const char *secret,
	    char *out, size_t outlen);

/* Verifies an HS256 JWT signed with secret whose payload is
 * {"expires": N, "token": "T"}; copies T into out. Returns ERR_OK or
 * ERR_INVALID_TOKEN (any other alg, bad base64url, bad signature, a
 * payload that is not a JSON object or has no string token). */
enum err auth_jwt_verify(const char *jwt, size_t len, const char *secret,
	    char *out, size_t outlen);

/* Signs {"expires": expires, "token": token} as an HS256 JWT into out.
 * Returns 0, or -1 when out is too small. */
int	 auth_jwt_sign(const char *token, double expires, const char *secret,
	    char *out, size_t outlen);

/* Writes a new random secret of nbytes random bytes, base64url, into
 * out (needs 4 * nbytes / 3 + 2). Returns 0, or -1. */
int	 auth_random(size_t nbytes, char *out, size_t outlen);

/* base64url without padding (RFC 4648 5). decode returns the length, or
 * -1 on any character outside the alphabet or a bad length. */
size_t	 b64url_encode(const unsigned char *in, size_t len, char *out);
long	 b64url_decode(const char *in, size_t len, unsigned char *out,
	    size_t outlen);

#endif
