/*
 * access: whether a request may go on. Its API key and token (found by
 * auth.c's pure functions) are looked up by hash in the store and
 * compared in constant time, then the token's role is checked against
 * the method. Kept per worker while the credentials do not change.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "auth.h"
#include "datetime.h"
#include "store.h"

/*
 * What a worker has looked up, kept while the store's credential version
 * stays the same: any key or token added, revoked or removed anywhere
 * moves it, and the cache is dropped. Expiry is still checked against
 * the clock on every request.
 */
#define CACHE_MAX	16

struct auth_cache {
	int64_t			 version;
	size_t			 n, next;
	struct {
		enum cred_kind		 kind;
		struct credential	 c;
	} e[CACHE_MAX];
};

/* Looks a secret up by its hash; ERR_OK when found and not revoked. */
static enum err
lookup(struct ctx *c, enum cred_kind k, const char *secret,
    struct credential *cred)
{
	struct auth_cache *ac = c->auth;
	unsigned char	 h[AUTH_HASH_LEN];
	size_t		 i;
	enum err	 e;

	auth_hash(secret, strlen(secret), h);
	for (i = 0; i < ac->n; i++)
		if (ac->e[i].kind == k &&
		    CRYPTO_memcmp(ac->e[i].c.hash, h, sizeof(h)) == 0) {
			*cred = ac->e[i].c;
			goto found;
		}
	if ((e = store_cred_find(c->store, k, h, cred)) != ERR_OK)
		return e;
	ac->e[ac->next].kind = k;
	ac->e[ac->next].c = *cred;
	ac->next = (ac->next + 1) % CACHE_MAX;
	if (ac->n < CACHE_MAX)
		ac->n++;
found:
	if (CRYPTO_memcmp(h, cred->hash, sizeof(h)) != 0 ||
	    cred->revoked_at != 0)
		return ERR_NOT_FOUND;
	return ERR_OK;
}

/* Empties the cache when the credentials changed since it was filled. */
static enum err
cache_check(struct ctx *c)
{
	int64_t		 v;
	enum err	 e;

	if (c->auth == NULL &&
	    (c->auth = calloc(1, sizeof(*c->auth))) == NULL)
		return ERR_INTERNAL;
	if ((e = store_cred_version(c->store, &v)) != ERR_OK)
		return e;
	if (v != c->auth->version) {
		c->auth->n = c->auth->next = 0;
		c->auth->version = v;
	}
	return ERR_OK;
}

enum err
access_check(struct ctx *c, const struct request *req)
{
	struct credential cred;
	char		 secret[AUTH_SECRET_MAX];
	unsigned char	 both[2 * AUTH_HASH_LEN];
	int		 role;
	enum err	 e;

	if (auth_find_key(req, secret, sizeof(secret)) < 0)
		return ERR_INVALID_API_KEY;
	if ((e = cache_check(c)) != ERR_OK)
		return e;
	e = lookup(c, CRED_KEY, secret, &cred);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (e != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_INVALID_API_KEY : e;
	memcpy(both, cred.hash, AUTH_HASH_LEN);

	if (auth_find_token(req, c->conf.jwt_secret, secret, sizeof(secret))
	    != ERR_OK)
		return ERR_INVALID_TOKEN;
	e = lookup(c, CRED_TOKEN, secret, &cred);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (e != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_INVALID_TOKEN : e;
	if (cred.expires_at != 0 && cred.expires_at <= dt_now())
		return ERR_EXPIRED_TOKEN;
	if ((role = role_from(cred.role)) < 0 ||
	    !role_allows((enum role)role, req->method))
		return ERR_UNAUTHORIZED;
	/* who asks, for an Idempotency-Key: the pair of credentials, as
	 * the hash of their hashes */
	if (req->idempotency_key != NULL) {
		memcpy(both + AUTH_HASH_LEN, cred.hash, AUTH_HASH_LEN);
		auth_hash((const char *)both, sizeof(both), c->who);
	}
	return ERR_OK;
}
