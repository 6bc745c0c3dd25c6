/*
 * src/auth.h: docs/API.md "Credentials" as pure functions. The JWT of the
 * oauth_token cookie (HS256 only, every refusal), where each credential
 * is found in a request and in which order, the hashing of secrets, the
 * base64url codec and the roles. (Signatures and hashes are compared
 * with OpenSSL's CRYPTO_memcmp, in constant time: here, that a
 * difference anywhere is one.) Expected values come from outside the
 * code: the founding example's cookie (signed by Mage), RFC 4648's and
 * FIPS 180-2's test vectors, and tokens built here with OpenSSL's HMAC.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "suites.h"

/* The founding example's cookie, signed by Mage with its stock secret. */
#define FOUNDING_JWT \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVzIjoxNjkyMzE0ODM3" \
	"LjE1MTkzOSwidG9rZW4iOiJieHlQajlVcHE5N2phTC1nTGtOQTVnM2draWZwRjJw" \
	"SEZZZkNzLTJ2NmpnIn0.bWqUP7Xg9PmHBW703AGPOE270Cc73F4kb0IKHLppGbM"
#define FOUNDING_TOKEN	"bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"

/* base64url without padding of len bytes, here (not auth.c's). */
static void
b64(const void *in, size_t len, char *out)
{
	unsigned char	 tmp[1024];
	int		 n, i, o = 0;

	n = EVP_EncodeBlock(tmp, in, (int)len);
	for (i = 0; i < n; i++) {
		if (tmp[i] == '=')
			break;
		out[o++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' :
		    (char)tmp[i];
	}
	out[o] = '\0';
}

/* A JWT of this header and payload, signed with secret by HS256 (as
 * its header says or not). */
static void
jwt(const char *header, const char *payload, const char *secret, char *out)
{
	unsigned char	 mac[32];
	unsigned int	 maclen = sizeof(mac);
	char		 h[512], p[512], s[64];

	b64(header, strlen(header), h);
	b64(payload, strlen(payload), p);
	snprintf(out, 1200, "%s.%s", h, p);
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)out, strlen(out), mac, &maclen);
	b64(mac, maclen, s);
	strcat(out, ".");
	strcat(out, s);
}

static enum err
verify(const char *token, const char *secret, char *out)
{
	return auth_jwt_verify(token, strlen(token), secret, out,
	    AUTH_SECRET_MAX);
}

#define HS256	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define PAYLOAD	"{\"expires\": 1692314837.15, \"token\": \"tok-abc\"}"

START_TEST(jwt_founding_cookie)
{
	char	 out[AUTH_SECRET_MAX];

	ck_assert_int_eq(verify(FOUNDING_JWT, "materia", out), ERR_OK);
	ck_assert_str_eq(out, FOUNDING_TOKEN);
	/* another secret: the signature does not hold */
	ck_assert_int_eq(verify(FOUNDING_JWT, "materia2", out),
	    ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify(FOUNDING_JWT, "", out), ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(jwt_built_here)
{
	char	 t[1200], out[AUTH_SECRET_MAX];

	jwt(HS256, PAYLOAD, "s3cret", t);
	ck_assert_int_eq(verify(t, "s3cret", out), ERR_OK);
	ck_assert_str_eq(out, "tok-abc");
	/* expiry is the database's: an old "expires" still verifies */
	jwt(HS256, "{\"expires\": 1, \"token\": \"old\"}", "s3cret", t);
	ck_assert_int_eq(verify(t, "s3cret", out), ERR_OK);
	ck_assert_str_eq(out, "old");
}
END_TEST

START_TEST(jwt_sign_verifies_elsewhere)
{
	char	 t[1200], out[AUTH_SECRET_MAX], expect[1200];

	ck_assert_int_eq(auth_jwt_sign("tok-abc", 1692314837, "s3cret", t,
	    sizeof(t)), 0);
	ck_assert_int_eq(verify(t, "s3cret", out), ERR_OK);
	ck_assert_str_eq(out, "tok-abc");
	/* the same bytes as a JWT built here from the same text */
	jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "{\"expires\":1692314837.0,\"token\":\"tok-abc\"}", "s3cret",
	    expect);
	ck_assert_str_eq(t, expect);
	ck_assert_int_eq(auth_jwt_sign("tok", 1, "s", t, 40), -1);
}
END_TEST

START_TEST(jwt_other_algs_refused)
{
	static const char *const headers[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
		"{\"alg\":\"RS256\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":256}",
		"{\"typ\":\"JWT\"}",
		"[\"HS256\"]",
		"\"HS256\"",
		"{\"alg\":\"HS256\"",
	};
	char	 t[1200], out[AUTH_SECRET_MAX], h[512], p[512];
	size_t	 i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		/* signed with the right secret all the same */
		jwt(headers[i], PAYLOAD, "s3cret", t);
		ck_assert_msg(verify(t, "s3cret", out) == ERR_INVALID_TOKEN,
		    "header %s accepted", headers[i]);
	}
	/* alg none with no signature at all */
	b64("{\"alg\":\"none\"}", 15, h);
	b64(PAYLOAD, strlen(PAYLOAD), p);
	snprintf(t, sizeof(t), "%s.%s.", h, p);
	ck_assert_int_eq(verify(t, "s3cret", out), ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(jwt_bad_payloads_refused)
{
	static const char *const payloads[] = {
		"{\"expires\": 1}",			/* no token */
		"{\"token\": 5}",			/* not a string */
		"{\"token\": null}",
		"[\"token\"]",
		"\"tok\"",
		"{\"token\": \"tok\"",			/* not JSON */
		"{\"token\": \"a\\u0000b\"}",		/* a NUL */
	};
	char	 t[1200], out[AUTH_SECRET_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		jwt(HS256, payloads[i], "s3cret", t);
		ck_assert_msg(verify(t, "s3cret", out) == ERR_INVALID_TOKEN,
		    "payload %s accepted", payloads[i]);
	}
}
END_TEST

START_TEST(jwt_bad_shapes_refused)
{
	char	 t[1200], bad[1300], out[AUTH_SECRET_MAX];
	size_t	 n;

	jwt(HS256, PAYLOAD, "s3cret", t);
	n = strlen(t);
	/* a flipped signature character, a missing one, one too many */
	snprintf(bad, sizeof(bad), "%s", t);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(bad, "s3cret", out), ERR_INVALID_TOKEN);
	snprintf(bad, sizeof(bad), "%.*s", (int)n - 1, t);
	ck_assert_int_eq(verify(bad, "s3cret", out), ERR_INVALID_TOKEN);
	snprintf(bad, sizeof(bad), "%sAA", t);
	ck_assert_int_eq(verify(bad, "s3cret", out), ERR_INVALID_TOKEN);
	/* parts: two, four, empty ones, characters outside base64url */
	ck_assert_int_eq(verify("a.b", "s3cret", out), ERR_INVALID_TOKEN);
	snprintf(bad, sizeof(bad), "%s.x", t);
	ck_assert_int_eq(verify(bad, "s3cret", out), ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify("..", "s3cret", out), ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify("", "s3cret", out), ERR_INVALID_TOKEN);
	snprintf(bad, sizeof(bad), "%s", t);
	bad[3] = '+';
	ck_assert_int_eq(verify(bad, "s3cret", out), ERR_INVALID_TOKEN);
	/* a payload edited after signing (its first character: another
	 * base64url letter) */
	snprintf(bad, sizeof(bad), "%s", t);
	n = (size_t)(strchr(bad, '.') - bad) + 1;
	bad[n] = bad[n] == 'e' ? 'f' : 'e';
	ck_assert_int_eq(verify(bad, "s3cret", out), ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(jwt_long_token_refused)
{
	char	 t[1200], out[AUTH_SECRET_MAX], payload[700];

	snprintf(payload, sizeof(payload), "{\"token\": \"%0300d\"}", 7);
	jwt(HS256, payload, "s3cret", t);
	ck_assert_int_eq(verify(t, "s3cret", out), ERR_INVALID_TOKEN);
}
END_TEST

/* ---- where the credentials are found -------------------------------- */

static struct request
req(const char *query, const char *body)
{
	struct request	 r;

	memset(&r, 0, sizeof(r));
	r.method = body ? M_POST : M_GET;
	r.path = "/api/backfills";
	r.query = query ? query : "";
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.body_state = body ? BODY_OK : BODY_NONE;
	return r;
}

START_TEST(api_key_header_query_body)
{
	struct request	 r;
	char		 out[AUTH_SECRET_MAX];

	r = req("a=1&api_key=from-query", "{\"api_key\": \"from-body\"}");
	r.api_key = "from-header";
	ck_assert_int_eq(auth_find_key(&r, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "from-header");
	r.api_key = NULL;
	ck_assert_int_eq(auth_find_key(&r, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "from-query");
	r.query = "";
	ck_assert_int_eq(auth_find_key(&r, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "from-body");
	/* only at the body's root */
	r = req(NULL, "{\"backfill\": {\"api_key\": \"nested\"}}");
	ck_assert_int_eq(auth_find_key(&r, out, sizeof(out)), -1);
	r = req(NULL, "not json");
	ck_assert_int_eq(auth_find_key(&r, out, sizeof(out)), -1);
	r = req(NULL, NULL);
	ck_assert_int_eq(auth_find_key(&r, out, sizeof(out)), -1);
}
END_TEST

START_TEST(token_bearer_then_header_then_cookie)
{
	struct request	 r = req(NULL, NULL);
	char		 out[AUTH_SECRET_MAX];

	r.authorization = "Bearer from-bearer";
	r.oauth_token = "from-header";
	r.cookie = "x=1; oauth_token=" FOUNDING_JWT;
	ck_assert_int_eq(auth_find_token(&r, "materia", out, sizeof(out)),
	    ERR_OK);
	ck_assert_str_eq(out, "from-bearer");
	r.authorization = NULL;
	ck_assert_int_eq(auth_find_token(&r, "materia", out, sizeof(out)),
	    ERR_OK);
	ck_assert_str_eq(out, "from-header");
	r.oauth_token = NULL;
	ck_assert_int_eq(auth_find_token(&r, "materia", out, sizeof(out)),
	    ERR_OK);
	ck_assert_str_eq(out, FOUNDING_TOKEN);
	/* a cookie with a bad signature is no token */
	ck_assert_int_eq(auth_find_token(&r, "other", out, sizeof(out)),
	    ERR_INVALID_TOKEN);
	r.cookie = NULL;
	ck_assert_int_eq(auth_find_token(&r, "materia", out, sizeof(out)),
	    ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(authorization_with_several_credentials)
{
	static const struct {
		const char	*header;
		const char	*token;		/* NULL: none found there */
	} cases[] = {
		{ "Bearer T1", "T1" },
		{ "bearer T1", "T1" },
		{ "Basic Zm9vOmJhcg==, Bearer T1", "T1" },
		{ "Basic Zm9vOmJhcg==,Bearer T1", "T1" },
		{ "Bearer T1, Basic Zm9vOmJhcg==", "T1" },
		{ "Basic a, Bearer T1, Bearer T2", "T1" },
		{ "  Bearer   T1  ", "T1" },
		{ "Basic Zm9vOmJhcg==", NULL },
		{ "Digest x=1, Basic y", NULL },
		{ "Bearers T1", NULL },
	};
	struct request	 r = req(NULL, NULL);
	char		 out[AUTH_SECRET_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.authorization = cases[i].header;
		r.oauth_token = "fallback";
		ck_assert_int_eq(auth_find_token(&r, "s", out, sizeof(out)),
		    ERR_OK);
		ck_assert_msg(strcmp(out, cases[i].token ? cases[i].token :
		    "fallback") == 0, "\"%s\" gave \"%s\"", cases[i].header,
		    out);
	}
	/* Bearer with nothing after it is a bad token, not another way */
	r.authorization = "Bearer ";
	ck_assert_int_eq(auth_find_token(&r, "s", out, sizeof(out)),
	    ERR_INVALID_TOKEN);
}
END_TEST

/* ---- hashing, base64url, random, roles ------------------------------ */

START_TEST(sha256_vectors)
{
	/* FIPS 180-2, appendix B.1 and B.2 */
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad };
	static const unsigned char two[32] = {
		0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0,
		0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59,
		0x64, 0xff, 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb,
		0x06, 0xc1 };
	static const char msg[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	unsigned char	 h[AUTH_HASH_LEN];

	auth_hash("abc", 3, h);
	ck_assert_int_eq(memcmp(h, abc, 32), 0);
	auth_hash(msg, strlen(msg), h);
	ck_assert_int_eq(memcmp(h, two, 32), 0);
	/* only len bytes count */
	auth_hash("abcd", 3, h);
	ck_assert_int_eq(memcmp(h, abc, 32), 0);
}
END_TEST

START_TEST(b64url_vectors)
{
	/* RFC 4648 section 10, unpadded; then the url-safe characters */
	static const char *const in[] = { "", "f", "fo", "foo", "foob",
	    "fooba", "foobar" };
	static const char *const want[] = { "", "Zg", "Zm8", "Zm9v",
	    "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	unsigned char	 raw[64];
	char		 out[64];
	size_t		 i;
	long		 n;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_uint_eq(b64url_encode((const unsigned char *)in[i],
		    strlen(in[i]), out), strlen(want[i]));
		ck_assert_str_eq(out, want[i]);
		n = b64url_decode(want[i], strlen(want[i]), raw, sizeof(raw));
		ck_assert_int_eq(n, (long)strlen(in[i]));
		ck_assert_int_eq(memcmp(raw, in[i], (size_t)n), 0);
	}
	raw[0] = 0xfb;
	raw[1] = 0xff;
	b64url_encode(raw, 2, out);
	ck_assert_str_eq(out, "-_8");
	ck_assert_int_eq(b64url_decode("-_8", 3, raw, sizeof(raw)), 2);
	ck_assert_int_eq(raw[0], 0xfb);
	/* refused: padding, +/, a lone character, too small an output */
	ck_assert_int_eq(b64url_decode("Zg==", 4, raw, sizeof(raw)), -1);
	ck_assert_int_eq(b64url_decode("+/8", 3, raw, sizeof(raw)), -1);
	ck_assert_int_eq(b64url_decode("Zm9vY", 5, raw, sizeof(raw)), -1);
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, raw, 5), -1);
}
END_TEST

START_TEST(random_secrets)
{
	char	 a[64], b[64];
	size_t	 i;

	ck_assert_int_eq(auth_random(32, a, sizeof(a)), 0);
	ck_assert_int_eq(auth_random(32, b, sizeof(b)), 0);
	ck_assert_uint_eq(strlen(a), 43);
	ck_assert_str_ne(a, b);
	for (i = 0; a[i] != '\0'; i++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789-_", a[i]) != NULL);
	ck_assert_int_eq(auth_random(32, a, 40), -1);
}
END_TEST

START_TEST(roles)
{
	static const enum method writes[] = { M_POST, M_PUT, M_DELETE,
	    M_OTHER };
	size_t	 i;

	ck_assert_int_eq(role_from("viewer"), ROLE_VIEWER);
	ck_assert_int_eq(role_from("editor"), ROLE_EDITOR);
	ck_assert_int_eq(role_from("owner"), ROLE_OWNER);
	ck_assert_int_eq(role_from("Owner"), -1);
	ck_assert_int_eq(role_from(""), -1);
	for (i = 0; i < ROLE__MAX; i++) {
		ck_assert(role_allows((enum role)i, M_GET));
		ck_assert(role_allows((enum role)i, M_HEAD));
	}
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		ck_assert(!role_allows(ROLE_VIEWER, writes[i]));
		ck_assert(role_allows(ROLE_EDITOR, writes[i]));
		ck_assert(role_allows(ROLE_OWNER, writes[i]));
	}
}
END_TEST

Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc;

	tc = tcase_create("jwt");
	tcase_add_test(tc, jwt_founding_cookie);
	tcase_add_test(tc, jwt_built_here);
	tcase_add_test(tc, jwt_sign_verifies_elsewhere);
	tcase_add_test(tc, jwt_other_algs_refused);
	tcase_add_test(tc, jwt_bad_payloads_refused);
	tcase_add_test(tc, jwt_bad_shapes_refused);
	tcase_add_test(tc, jwt_long_token_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("finding");
	tcase_add_test(tc, api_key_header_query_body);
	tcase_add_test(tc, token_bearer_then_header_then_cookie);
	tcase_add_test(tc, authorization_with_several_credentials);
	suite_add_tcase(s, tc);

	tc = tcase_create("primitives");
	tcase_add_test(tc, sha256_vectors);
	tcase_add_test(tc, b64url_vectors);
	tcase_add_test(tc, random_secrets);
	tcase_add_test(tc, roles);
	suite_add_tcase(s, tc);
	return s;
}
