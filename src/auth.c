#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "jsonin.h"

#define JWT_MAX		4096

static const char *const role_names[ROLE__MAX] = {
	"viewer", "editor", "owner"
};

const char *
role_name(enum role r)
{
	return (unsigned)r < ROLE__MAX ? role_names[r] : "viewer";
}

int
role_from(const char *s)
{
	int	 r;

	for (r = 0; r < ROLE__MAX; r++)
		if (strcmp(s, role_names[r]) == 0)
			return r;
	return -1;
}

int
role_allows(enum role r, enum method m)
{
	if (m == M_GET || m == M_HEAD || m == M_OPTIONS)
		return 1;
	return r == ROLE_EDITOR || r == ROLE_OWNER;
}

void
auth_hash(const char *secret, size_t len, unsigned char out[AUTH_HASH_LEN])
{
	/* SHA256() fetches the algorithm on every call in OpenSSL 3, and
	 * EVP_Digest() makes and frees a context: a process fetches the one
	 * and keeps the other (single-threaded; OpenSSL frees them at
	 * exit). About half of a hash's cost, twice per request. */
	static EVP_MD	*md;
	static EVP_MD_CTX *ctx;
	unsigned int	 n = AUTH_HASH_LEN;

	if ((md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) ||
	    (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL) ||
	    EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, secret, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1)
		SHA256((const unsigned char *)secret, len, out);
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t	 i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t	 i, o = 0, need;
	uint32_t acc = 0;
	int	 bits = 0, v;

	if (len % 4 == 1)
		return -1;
	need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val(in[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)		/* leftover bits must be zero */
		return -1;
	return (long)o;
}

/* Copies s[0..len) into out as a C string; -1 if it does not fit or
 * holds a NUL or control character. */
static int
copy_secret(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	 i;

	if (len == 0 || len >= outlen)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int
auth_find_key(const struct request *req, char *out, size_t outlen)
{
	struct json_object	*root = NULL, *k;
	const char		*detail;
	int			 rc = -1;

	if (req->api_key != NULL)
		return copy_secret(req->api_key, strlen(req->api_key), out,
		    outlen);
	if ((rc = query_get(req->query, "api_key", out, outlen)) != 0) {
		/* The same rules as the header: no control characters. */
		char	 q[AUTH_SECRET_MAX];

		if (rc != 1 || strlen(out) >= sizeof(q))
			return -1;
		memcpy(q, out, strlen(out) + 1);
		return copy_secret(q, strlen(q), out, outlen);
	}
	if (req->body_state != BODY_OK || req->body_len == 0 ||
	    jsonin_parse(req->body, req->body_len, &root, &detail) != ERR_OK)
		return -1;
	rc = -1;
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "api_key", &k) &&
	    json_object_is_type(k, json_type_string))
		rc = copy_secret(json_object_get_string(k),
		    (size_t)json_object_get_string_len(k), out, outlen);
	json_object_put(root);
	return rc;
}

/* Finds cookie name's value in a Cookie header (RFC 6265 5.4). */
static const char *
cookie_get(const char *cookies, const char *name, size_t *len)
{
	size_t		 nlen = strlen(name);
	const char	*p = cookies, *end;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			*len = end != NULL ? (size_t)(end - p) : strlen(p);
			while (*len > 0 && (p[*len - 1] == ' ' ||
			    p[*len - 1] == '\t'))
				(*len)--;
			return p;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

/* The credentials of the first Bearer part of an Authorization value
 * (parts separated by commas, blanks around them ignored), with its
 * length in *len; NULL when there is none. */
static const char *
bearer(const char *v, size_t *len)
{
	const char	*end;

	for (; v != NULL && *v != '\0'; v = *end == ',' ? end + 1 : end) {
		while (*v == ' ' || *v == '\t')
			v++;
		end = v + strcspn(v, ",");
		if (end - v >= 7 && strncasecmp(v, "Bearer ", 7) == 0) {
			for (v += 7; *v == ' '; v++)
				;
			while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			*len = (size_t)(end - v);
			return v;
		}
	}
	return NULL;
}

enum err
auth_find_token(const struct request *req, const char *secret, char *out,
    size_t outlen)
{
	const char	*v;
	size_t		 len;

	/* The header may carry several credentials, comma-separated
	 * ("Basic ..., Bearer T": a proxy's in front): the first Bearer
	 * one is the token, as Mage reads it. Another scheme alone is not
	 * ours: the token may then come by the other ways. */
	if ((v = bearer(req->authorization, &len)) != NULL)
		return copy_secret(v, len, out, outlen) == 0 ? ERR_OK :
		    ERR_INVALID_TOKEN;
	if ((v = req->oauth_token) != NULL)
		return copy_secret(v, strlen(v), out, outlen) == 0 ? ERR_OK :
		    ERR_INVALID_TOKEN;
	if (req->cookie != NULL &&
	    (v = cookie_get(req->cookie, "oauth_token", &len)) != NULL)
		return auth_jwt_verify(v, len, secret, out, outlen);
	return ERR_INVALID_TOKEN;
}

/* Decodes one base64url JWT part holding a JSON object. */
static struct json_object *
jwt_part(const char *s, size_t len)
{
	unsigned char		 raw[JWT_MAX];
	struct json_object	*o = NULL;
	const char		*detail;
	long			 n;

	if ((n = b64url_decode(s, len, raw, sizeof(raw) - 1)) <= 0)
		return NULL;
	raw[n] = '\0';
	if (jsonin_parse((const char *)raw, (size_t)n, &o, &detail) !=
	    ERR_OK)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void
hs256(const char *secret, const char *data, size_t len,
    unsigned char mac[AUTH_HASH_LEN])
{
	unsigned int	 maclen = AUTH_HASH_LEN;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)data, len, mac, &maclen);
}

enum err
auth_jwt_verify(const char *jwt, size_t len, const char *secret, char *out,
    size_t outlen)
{
	struct json_object	*hdr = NULL, *pay = NULL, *v;
	const char		*d1, *d2;
	unsigned char		 mac[AUTH_HASH_LEN], sig[AUTH_HASH_LEN + 3];
	enum err		 e = ERR_INVALID_TOKEN;

	if (secret == NULL || secret[0] == '\0' || len == 0 || len > JWT_MAX)
		return ERR_INVALID_TOKEN;
	if ((d1 = memchr(jwt, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL)
		return ERR_INVALID_TOKEN;
	/* The header must name HS256: "none" and every other alg refused. */
	if ((hdr = jwt_part(jwt, (size_t)(d1 - jwt))) == NULL ||
	    !json_object_object_get_ex(hdr, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "HS256") != 0)
		goto out;
	hs256(secret, jwt, (size_t)(d2 - jwt), mac);
	if (b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), sig,
	    sizeof(sig)) != AUTH_HASH_LEN ||
	    CRYPTO_memcmp(mac, sig, AUTH_HASH_LEN) != 0)
		goto out;
	if ((pay = jwt_part(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL ||
	    !json_object_object_get_ex(pay, "token", &v) ||
	    !json_object_is_type(v, json_type_string))
		goto out;
	if (copy_secret(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), out, outlen) == 0)
		e = ERR_OK;
out:
	json_object_put(hdr);
	json_object_put(pay);
	return e;
}

int
auth_jwt_sign(const char *token, double expires, const char *secret,
    char *out, size_t outlen)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	struct json_object *pay;
	unsigned char	 mac[AUTH_HASH_LEN];
	const char	*ptext;
	size_t		 o, plen;

	if ((pay = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(pay, "expires",
	    json_object_new_double(expires));
	json_object_object_add(pay, "token", json_object_new_string(token));
	ptext = json_object_to_json_string_ext(pay, JSON_C_TO_STRING_PLAIN);
	plen = strlen(ptext);
	if ((sizeof(hdr) + plen) * 4 / 3 + 64 > outlen) {
		json_object_put(pay);
		return -1;
	}
	o = b64url_encode((const unsigned char *)hdr, sizeof(hdr) - 1, out);
	out[o++] = '.';
	o += b64url_encode((const unsigned char *)ptext, plen, out + o);
	json_object_put(pay);
	hs256(secret, out, o, mac);
	out[o++] = '.';
	b64url_encode(mac, sizeof(mac), out + o);
	return 0;
}

int
auth_random(size_t nbytes, char *out, size_t outlen)
{
	unsigned char	 raw[64];

	if (nbytes > sizeof(raw) || outlen < nbytes * 4 / 3 + 2 ||
	    RAND_bytes(raw, (int)nbytes) != 1)
		return -1;
	b64url_encode(raw, nbytes, out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
