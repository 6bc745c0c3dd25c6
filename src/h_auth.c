/*
 * Authentication of a request (SPEC "Authentication"): an API key and a
 * token, both looked up by hash in the store and compared in constant
 * time, then the token's role against the method.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "auth.h"
#include "datetime.h"
#include "handlers.h"
#include "store.h"

/* Looks a secret up by its hash; ERR_OK when found and not revoked. */
static enum err
lookup(struct ctx *c, enum cred_kind k, const char *secret,
    struct credential *cred)
{
	unsigned char	 h[AUTH_HASH_LEN];
	enum err	 e;

	auth_hash(secret, strlen(secret), h);
	if ((e = store_cred_find(c->store, k, h, cred)) != ERR_OK)
		return e;
	if (CRYPTO_memcmp(h, cred->hash, sizeof(h)) != 0 ||
	    cred->revoked_at != 0)
		return ERR_NOT_FOUND;
	return ERR_OK;
}

enum err
authenticate(struct ctx *c, const struct request *req)
{
	struct credential cred;
	char		 secret[AUTH_SECRET_MAX];
	int		 role;
	enum err	 e;

	if (auth_find_key(req, secret, sizeof(secret)) < 0)
		return ERR_INVALID_API_KEY;
	e = lookup(c, CRED_KEY, secret, &cred);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (e != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_INVALID_API_KEY : e;

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
	return ERR_OK;
}
