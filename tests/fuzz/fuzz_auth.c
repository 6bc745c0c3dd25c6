/*
 * fuzz_auth: the credential and JWT parsers (src/auth.h) and the query
 * string reader (src/http.h).
 *
 * Input: any bytes, used whole in several ways:
 *   - as an oauth_token JWT for auth_jwt_verify() with secret "materia"
 *     (an exact-size copy, not NUL-terminated, as a cookie value is);
 *   - as base64url text for b64url_decode(), and as raw bytes for
 *     b64url_encode();
 *   - up to its first NUL, as a QUERY_STRING for query_get(),
 *     query_int() and query_flag(), and as the Cookie, Authorization and
 *     OAUTH-TOKEN headers and query of auth_find_token() and
 *     auth_find_key();
 *   - when it is a plausible token, signed with auth_jwt_sign().
 *
 * Invariants (abort() on a breach):
 *   - auth_jwt_verify() accepts only a JWT whose signature is the
 *     HMAC-SHA256 with "materia" of its first two parts (computed here
 *     with OpenSSL directly) and whose header's alg is "HS256"; the token
 *     it returns is NUL-terminated, non-empty, free of control characters
 *     and fits out; a smaller out never overflows;
 *   - base64url: decode(x) accepted => encode(decode(x)) == x (the
 *     decoder refuses non-canonical text); decode(encode(x)) == x; the
 *     decoder never writes past outlen, and refuses an outlen one short;
 *   - query_get() writes a NUL-terminated value shorter than outlen
 *     with no NUL inside, and returns 1, 0 or -1;
 *   - auth_jwt_sign() then auth_jwt_verify() gives back the same token.
 */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL(...)	do {						\
	fprintf(stderr, "fuzz_auth: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

#define SECRET	"materia"

static void
check_secret(const char *out, size_t outlen, const char *what)
{
	size_t	 i, n = strnlen(out, outlen);

	if (n == 0 || n >= outlen)
		FAIL("%s: token of length %zu for outlen %zu", what, n,
		    outlen);
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			FAIL("%s: control character in the token", what);
}

/* Whether the JWT's signature is HMAC-SHA256(SECRET, head.payload) and
 * its header names HS256: what an accepted JWT must be. */
static int
genuine(const char *jwt, size_t len)
{
	const char		*d1, *d2;
	unsigned char		 mac[32], sig[64], hdr[4096];
	unsigned int		 maclen = sizeof(mac);
	long			 n;
	struct json_object	*h, *alg;
	int			 ok;

	if ((d1 = memchr(jwt, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))) == NULL)
		return 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const unsigned char *)jwt, (size_t)(d2 - jwt), mac, &maclen);
	n = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), sig,
	    sizeof(sig));
	if (n != 32 || memcmp(mac, sig, 32) != 0)
		return 0;
	n = b64url_decode(jwt, (size_t)(d1 - jwt), hdr, sizeof(hdr) - 1);
	if (n <= 0)
		return 0;
	hdr[n] = '\0';
	if ((h = json_tokener_parse((const char *)hdr)) == NULL)
		return 0;
	ok = json_object_object_get_ex(h, "alg", &alg) &&
	    json_object_is_type(alg, json_type_string) &&
	    strcmp(json_object_get_string(alg), "HS256") == 0;
	json_object_put(h);
	return ok;
}

static void
fuzz_jwt(const char *jwt, size_t len)
{
	char		 out[AUTH_SECRET_MAX], small[8];
	enum err	 e;

	memset(out, 'x', sizeof(out));
	e = auth_jwt_verify(jwt, len, SECRET, out, sizeof(out));
	if (e != ERR_OK && e != ERR_INVALID_TOKEN)
		FAIL("auth_jwt_verify: %d", e);
	if (e == ERR_OK) {
		check_secret(out, sizeof(out), "auth_jwt_verify");
		if (!genuine(jwt, len))
			FAIL("auth_jwt_verify accepted a JWT that is not "
			    "HS256-signed with the secret: %.*s", (int)len,
			    jwt);
	}
	e = auth_jwt_verify(jwt, len, SECRET, small, sizeof(small));
	if (e == ERR_OK)
		check_secret(small, sizeof(small), "auth_jwt_verify small");
	/* A wrong secret never verifies a genuine one. */
	if (auth_jwt_verify(jwt, len, "not materia", out, sizeof(out)) ==
	    ERR_OK && genuine(jwt, len))
		FAIL("auth_jwt_verify: accepted with the wrong secret");
}

static void
fuzz_b64(const unsigned char *in, size_t len)
{
	unsigned char	*dec, *raw;
	char		*enc;
	size_t		 need, n;
	long		 d;

	/* As text to decode, into a buffer of exactly the size it needs. */
	need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if ((dec = malloc(need + 1)) == NULL ||
	    (enc = malloc(len / 3 * 4 + 8)) == NULL)
		FAIL("out of memory");
	d = b64url_decode((const char *)in, len, dec, need);
	if (d >= 0) {
		if ((size_t)d != need)
			FAIL("b64url_decode: %ld bytes, expected %zu", d,
			    need);
		n = b64url_encode(dec, (size_t)d, enc);
		if (n != len || memcmp(enc, in, len) != 0)
			FAIL("b64url: encode(decode(%.*s)) = %s", (int)len,
			    (const char *)in, enc);
		if (need > 0 && b64url_decode((const char *)in, len, dec,
		    need - 1) >= 0)
			FAIL("b64url_decode: wrote past a short outlen");
	}
	free(dec);
	free(enc);

	/* As bytes to encode. */
	if ((enc = malloc(len / 3 * 4 + 4)) == NULL ||
	    (raw = malloc(len ? len : 1)) == NULL)
		FAIL("out of memory");
	n = b64url_encode(in, len, enc);
	if (n != len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0) ||
	    strlen(enc) != n)
		FAIL("b64url_encode: length %zu for %zu bytes", n, len);
	d = b64url_decode(enc, n, raw, len);
	if (d < 0 || (size_t)d != len || memcmp(raw, in, len) != 0)
		FAIL("b64url: decode(encode(x)) != x for %zu bytes", len);
	free(enc);
	free(raw);
}

static void
check_query(const char *q, const char *name, size_t outlen)
{
	char	*out;
	int	 rc;

	if ((out = malloc(outlen)) == NULL)
		FAIL("out of memory");
	memset(out, 'x', outlen);
	rc = query_get(q, name, out, outlen);
	if (rc != 1 && rc != 0 && rc != -1)
		FAIL("query_get: %d", rc);
	if (rc == 1 && strnlen(out, outlen) >= outlen)
		FAIL("query_get(%s, %zu): not NUL-terminated", name, outlen);
	free(out);
}

static void
fuzz_query(const char *q)
{
	static const char *const names[] = {
		"api_key", "_limit", "_offset", "status", "backfill_id",
		"include_run_count", "include_preview_runs", "pipeline_uuid",
		"a", "",
	};
	static const size_t lens[] = { 1, 2, 8, 24, 256 };
	size_t	 i, j;
	int64_t	 v = -7;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
			check_query(q, names[i], lens[j]);
	if (query_int(q, "_limit", 1, 1000, &v) == 0 && v != -7 &&
	    (v < 1 || v > 1000))
		FAIL("query_int: %lld outside 1..1000", (long long)v);
	if (query_int(q, "backfill_id", 1, 1LL << 53, &v) == 0 && v != -7 &&
	    (v < 1 || v > 1LL << 53))
		FAIL("query_int: %lld outside 1..2^53", (long long)v);
	(void)query_flag(q, "include_run_count");
}

static void
fuzz_find(const char *s)
{
	struct request	 req;
	char		 out[AUTH_SECRET_MAX];

	memset(&req, 0, sizeof(req));
	req.method = M_GET;
	req.path = "/api/backfills";
	req.query = s;
	req.cookie = s;
	if (auth_find_token(&req, SECRET, out, sizeof(out)) == ERR_OK)
		check_secret(out, sizeof(out), "auth_find_token cookie");
	/* From the query the key is URL-decoded and may hold control
	 * characters (%01, %0A), which the header and body refuse: only
	 * its length is checked (noted in the report, not a crash). */
	if (auth_find_key(&req, out, sizeof(out)) == 0 &&
	    (out[0] == '\0' || strnlen(out, sizeof(out)) >= sizeof(out)))
		FAIL("auth_find_key query: empty or unterminated key");
	req.body_state = BODY_OK;
	req.body = s;
	req.body_len = strlen(s);
	req.query = "";
	if (auth_find_key(&req, out, sizeof(out)) == 0)
		check_secret(out, sizeof(out), "auth_find_key body");
	req.oauth_token = s;
	if (auth_find_token(&req, SECRET, out, sizeof(out)) == ERR_OK)
		check_secret(out, sizeof(out), "auth_find_token OAUTH-TOKEN");
	req.authorization = s;
	if (auth_find_token(&req, SECRET, out, sizeof(out)) == ERR_OK)
		check_secret(out, sizeof(out), "auth_find_token Bearer");
	req.api_key = s;
	if (auth_find_key(&req, out, sizeof(out)) == 0)
		check_secret(out, sizeof(out), "auth_find_key header");
}

/* A token as backfillctl issues would be: printable, UTF-8. */
static void
fuzz_sign(const char *s)
{
	char	 jwt[4096], out[AUTH_SECRET_MAX];
	size_t	 i, n = strlen(s);

	if (n == 0 || n >= AUTH_SECRET_MAX || !utf8_valid(s, n))
		return;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return;
	if (auth_jwt_sign(s, 1692314837.151939, SECRET, jwt, sizeof(jwt)) < 0)
		FAIL("auth_jwt_sign refused a %zu-byte token", n);
	if (auth_jwt_verify(jwt, strlen(jwt), SECRET, out, sizeof(out)) !=
	    ERR_OK)
		FAIL("auth_jwt_verify refused what auth_jwt_sign made for "
		    "\"%s\": %s", s, jwt);
	if (strcmp(out, s) != 0)
		FAIL("sign/verify: \"%s\" came back as \"%s\"", s, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*exact, *str;

	if ((exact = malloc(size ? size : 1)) == NULL ||
	    (str = malloc(size + 1)) == NULL)
		return 0;
	memcpy(exact, data, size);
	memcpy(str, data, size);
	str[size] = '\0';
	fuzz_jwt(exact, size);
	fuzz_b64(data, size);
	fuzz_query(str);
	fuzz_find(str);
	fuzz_sign(str);
	free(exact);
	free(str);
	return 0;
}
