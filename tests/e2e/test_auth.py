"""Authentication (docs/API.md "Credentials", README "Authentication"): the
three places an API key may come from, the three places an OAuth token may
come from, the HS256 cookie, every refusal with its exact status, type and
message, roles, that a refused write changes nothing, that secrets are
stored hashed, and that the worker will not start without a jwt_secret.

Runs against the demo database with `require_authentication = on` and
`jwt_secret = materia` (conf/demo.conf, rendered by scripts/serve.sh)."""

import base64
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import (ServerTestCase, ROOT, FCGI_BIN, CTL_BIN, API_KEY,
                     OAUTH_COOKIE, DEMO_ID, DEMO_PIPELINE, FIELDS)

DEMO_TOKEN = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
SECRET = b"materia"
JWT = OAUTH_COOKIE[len("oauth_token="):]
JWT_HEADER, JWT_PAYLOAD, JWT_SIG = JWT.split(".")

# The body of the founding curl, exactly as -d sends it.
FOUNDING_BODY = ('{"backfill": {"start_datetime": "2023-07-17 23:56:05",\n'
                 '                   "end_datetime": "2023-07-18 23:56:05", '
                 '"name": "new_name"}}')

MSG = {"invalid_api_key": "Invalid API key.",
       "invalid_oauth_token": "Invalid OAuth token.",
       "expired_oauth_token": "Expired OAuth token."}


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sign(signing_input, secret=SECRET, digest=hashlib.sha256):
    return b64u(hmac.new(secret, signing_input.encode(), digest).digest())


def make_jwt(payload, header=None, secret=SECRET, digest=hashlib.sha256,
             raw_header=None, raw_payload=None):
    """An HS256 (by default) JWT; raw_* are the encoded parts as sent
    (possibly malformed), the signature always covers them as sent."""
    h = raw_header if raw_header is not None else b64u(json.dumps(
        header if header is not None else {"alg": "HS256", "typ": "JWT"},
        separators=(",", ":")))
    p = raw_payload if raw_payload is not None else b64u(
        payload if isinstance(payload, (bytes, str))
        else json.dumps(payload, separators=(",", ":")))
    return "%s.%s.%s" % (h, p, sign(h + "." + p, secret, digest))


class AuthCase(ServerTestCase):
    """Shortcuts: requests with exactly the credentials given."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.conf = os.path.join(cls.server.rundir, "backfills.conf")

    def ctlc(self, *args):
        """backfillctl --conf RUNDIR/backfills.conf args (the conf the
        server runs with, so the cookie is signed with its secret)."""
        self.assertTrue(os.path.exists(self.conf),
                        "serve.sh wrote no %s" % self.conf)
        p = subprocess.run([CTL_BIN, "--conf", self.conf] + list(args),
                           cwd=ROOT, env=self.server.env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, "backfillctl %s: %r"
                         % (" ".join(args), p))
        return p.stdout.decode()

    def add_key(self, *args):
        out = self.ctlc("key", "add", *args)
        m = re.search(r"added key (\d+)\b.*:\s*(\S+)\s*$", out, re.M)
        self.assertIsNotNone(m, out)
        return int(m.group(1)), m.group(2)

    def issue(self, role, ttl=None):
        args = ["token", "issue", "--role", role]
        if ttl:
            args += ["--ttl", ttl]
        out = self.ctlc(*args)
        tid = re.search(r"issued token (\d+)", out)
        tok = re.search(r"^token:\s+(\S+)\s*$", out, re.M)
        cookie = re.search(r"^cookie:\s+(oauth_token=\S+)\s*$", out, re.M)
        self.assertTrue(tid and tok and cookie, out)
        return int(tid.group(1)), tok.group(1), cookie.group(1)

    def call(self, method, path, body=None, headers=None):
        return self.server.request(method, path, body, headers, auth=False)

    def key_and(self, **h):
        d = {"X-API-KEY": API_KEY}
        d.update(h)
        return d

    def assertRefused(self, r, status, etype):
        err = self.assertError(r, status, etype)
        if etype in MSG:
            self.assertEqual(err["message"], MSG[etype], r)
        return err

    def new_backfill(self, **fields):
        return self.create(**dict({"name": "auth"}, **fields))

    def refuse_everywhere(self, headers, status, etype, query=""):
        """GET is refused; so are PUT, POST and DELETE, which change
        nothing."""
        rec = self.new_backfill()
        path = "/api/backfills/%d%s" % (rec["id"], query)
        self.assertRefused(self.call("GET", path, None, headers),
                           status, etype)
        self.assertRefused(self.call("GET", "/api/backfills" + query, None,
                                     headers), status, etype)
        with self.unchanged():
            self.assertRefused(self.call(
                "PUT", path, {"backfill": {"name": "changed"}}, headers),
                status, etype)
            self.assertRefused(self.call(
                "POST", "/api/pipelines/%s/backfills%s"
                % (DEMO_PIPELINE, query), {"backfill": {"name": "new"}},
                headers), status, etype)
            self.assertRefused(self.call("DELETE", path, None, headers),
                               status, etype)
        self.assertEqual(self.show(rec["id"]), rec)


class TestCredentials(AuthCase):
    """Every accepted way of presenting the two credentials."""

    def test_founding_example_verbatim(self):
        r = self.call("PUT", "/api/pipelines/arwen_starlight/backfills/6",
                      FOUNDING_BODY.encode(),
                      {"Content-Type": "application/json",
                       "Cookie": OAUTH_COOKIE, "X-API-KEY": API_KEY})
        self.assertEqual(r.status, 200, r)
        rec = r.json["backfill"]
        self.assertEqual(list(rec.keys()), FIELDS)
        self.assertEqual((rec["id"], rec["name"], rec["start_datetime"],
                          rec["end_datetime"]),
                         (6, "new_name", "2023-07-17 23:56:05",
                          "2023-07-18 23:56:05"))

    def test_founding_cookie_payload(self):
        # the cookie is what the README says it is (guards the constant itself)
        self.assertEqual(json.loads(b64u_decode(JWT_HEADER)),
                         {"alg": "HS256", "typ": "JWT"})
        self.assertEqual(json.loads(b64u_decode(JWT_PAYLOAD)),
                         {"expires": 1692314837.151939, "token": DEMO_TOKEN})
        self.assertEqual(sign(JWT_HEADER + "." + JWT_PAYLOAD), JWT_SIG)

    def test_key_header_with_each_token_form(self):
        for name, h in (("bearer", {"Authorization": "Bearer " + DEMO_TOKEN}),
                        ("oauth-token", {"OAUTH-TOKEN": DEMO_TOKEN}),
                        ("cookie", {"Cookie": OAUTH_COOKIE})):
            with self.subTest(token=name):
                r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None,
                              self.key_and(**h))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["backfill"]["id"], DEMO_ID)
                r = self.call("GET", "/api/backfills", None,
                              self.key_and(**h))
                self.assertEqual(r.status, 200, r)

    def test_cookie_among_other_cookies(self):
        r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None,
                      self.key_and(Cookie="a=1; %s; b=2" % OAUTH_COOKIE))
        self.assertEqual(r.status, 200, r)

    def test_key_in_query(self):
        for h in ({"OAUTH-TOKEN": DEMO_TOKEN}, {"Cookie": OAUTH_COOKIE}):
            r = self.call("GET", "/api/backfills/%d?api_key=%s"
                          % (DEMO_ID, API_KEY), None, h)
            self.assertEqual(r.status, 200, r)
            r = self.call("GET", "/api/backfills?_limit=5&api_key=%s"
                          % API_KEY, None, h)
            self.assertEqual(r.status, 200, r)
        rec = self.new_backfill()
        r = self.call("PUT", "/api/backfills/%d?api_key=%s"
                      % (rec["id"], API_KEY),
                      {"backfill": {"name": "by_query"}},
                      {"Authorization": "Bearer " + DEMO_TOKEN})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.show(rec["id"])["name"], "by_query")

    def test_key_in_body_root(self):
        rec = self.new_backfill()
        r = self.call("PUT", "/api/backfills/%d" % rec["id"],
                      {"api_key": API_KEY,
                       "backfill": {"name": "by_body"}},
                      {"OAUTH-TOKEN": DEMO_TOKEN})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "by_body")
        self.assertEqual(self.show(rec["id"])["name"], "by_body")
        # key after the backfill object, token as the cookie; POST too
        r = self.call("POST", "/api/pipelines/%s/backfills" % DEMO_PIPELINE,
                      '{"backfill": {"name": "posted"}, "api_key": "%s"}'
                      % API_KEY, {"Cookie": OAUTH_COOKIE})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["backfill"]["name"], "posted")

    def test_key_in_body_of_founding_put(self):
        body = json.loads(FOUNDING_BODY)
        body["api_key"] = API_KEY
        r = self.call("PUT", "/api/pipelines/arwen_starlight/backfills/6",
                      body, {"Cookie": OAUTH_COOKIE})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "new_name")

    def test_added_key_works_and_issued_tokens_work(self):
        _, key = self.add_key("--name", "e2e")
        _, tok, cookie = self.issue("owner", "1h")
        for h in ({"Authorization": "Bearer " + tok}, {"OAUTH-TOKEN": tok},
                  {"Cookie": cookie}):
            with self.subTest(h=h):
                h = dict(h, **{"X-API-KEY": key})
                r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None, h)
                self.assertEqual(r.status, 200, r)
        # the issued cookie carries the token, signed with the secret
        jwt = cookie[len("oauth_token="):]
        hd, pl, sg = jwt.split(".")
        self.assertEqual(json.loads(b64u_decode(hd))["alg"], "HS256")
        self.assertEqual(json.loads(b64u_decode(pl))["token"], tok)
        self.assertEqual(sign(hd + "." + pl), sg)

    def test_chosen_key(self):
        key = "e2e-chosen-key-0123456789abcdefghijklmnop"
        self.add_key(key, "--name", "chosen")
        r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None,
                      {"X-API-KEY": key, "OAUTH-TOKEN": DEMO_TOKEN})
        self.assertEqual(r.status, 200, r)

    def test_cookie_expiry_is_the_databases(self):
        # the founding cookie's payload expired in 2023 and still works
        # (test_founding_example_verbatim); a payload saying "far future"
        # does not revive a token the database says has expired
        _, tok, _ = self.issue("owner", "1s")
        time.sleep(2.1)
        jwt = make_jwt({"expires": 32503680000.0, "token": tok})
        r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None,
                      self.key_and(Cookie="oauth_token=" + jwt))
        self.assertRefused(r, 401, "expired_oauth_token")

    def test_no_credentials_needed_for_status_and_options(self):
        r = self.call("GET", "/api/status")
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["status"]["ok"], True)
        for path in ("/api/backfills", "/api/backfills/%d" % DEMO_ID,
                     "/api/pipelines/%s/backfills" % DEMO_PIPELINE,
                     "/api/pipelines/%s/backfills/%d"
                     % (DEMO_PIPELINE, DEMO_ID),
                     "/api/pipeline_runs", "/api/status"):
            with self.subTest(path=path):
                with self.unchanged():
                    r = self.call("OPTIONS", path)
                    self.assertEqual(r.status, 204, r)
                    # wrong credentials do not matter either
                    r = self.call("OPTIONS", path, None,
                                  {"X-API-KEY": "nope",
                                   "Authorization": "Bearer nope"})
                    self.assertEqual(r.status, 204, r)
        r = self.call("GET", "/api/status", None,
                      {"X-API-KEY": "nope", "Cookie": "oauth_token=x"})
        self.assertEqual(r.status, 200, r)


class TestRefusals(AuthCase):
    """Every refusal: status, type and message of docs/API.md; nothing
    changes."""

    def test_no_api_key(self):
        for h in ({"OAUTH-TOKEN": DEMO_TOKEN}, {"Cookie": OAUTH_COOKIE},
                  {"Authorization": "Bearer " + DEMO_TOKEN}):
            with self.subTest(h=h):
                self.refuse_everywhere(h, 401, "invalid_api_key")

    def test_empty_api_key(self):
        self.refuse_everywhere({"X-API-KEY": "", "OAUTH-TOKEN": DEMO_TOKEN},
                               401, "invalid_api_key")
        self.refuse_everywhere({"OAUTH-TOKEN": DEMO_TOKEN}, 401,
                               "invalid_api_key", query="?api_key=")

    def test_unknown_api_key(self):
        for key in ("zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO3",
                    API_KEY[:-1], API_KEY + "x", API_KEY.lower(), "x",
                    DEMO_TOKEN):
            with self.subTest(key=key):
                self.refuse_everywhere({"X-API-KEY": key,
                                        "OAUTH-TOKEN": DEMO_TOKEN},
                                       401, "invalid_api_key")
        self.refuse_everywhere({"OAUTH-TOKEN": DEMO_TOKEN}, 401,
                               "invalid_api_key", query="?api_key=nope")
        rec = self.new_backfill()
        with self.unchanged():
            r = self.call("PUT", "/api/backfills/%d" % rec["id"],
                          {"api_key": "nope", "backfill": {"name": "x"}},
                          {"OAUTH-TOKEN": DEMO_TOKEN})
            self.assertRefused(r, 401, "invalid_api_key")

    def test_key_header_comes_first(self):
        # X-API-KEY, *else* query, *else* body: a wrong header is not
        # rescued by a right key further down
        rec = self.new_backfill()
        with self.unchanged():
            r = self.call("PUT", "/api/backfills/%d?api_key=%s"
                          % (rec["id"], API_KEY),
                          {"api_key": API_KEY, "backfill": {"name": "x"}},
                          {"X-API-KEY": "nope", "OAUTH-TOKEN": DEMO_TOKEN})
            self.assertRefused(r, 401, "invalid_api_key")

    def test_revoked_key(self):
        for how in ("id", "key"):
            with self.subTest(revoke_by=how):
                kid, key = self.add_key("--name", "to_revoke")
                h = {"X-API-KEY": key, "OAUTH-TOKEN": DEMO_TOKEN}
                r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None, h)
                self.assertEqual(r.status, 200, r)
                self.ctlc("key", "revoke", str(kid) if how == "id" else key)
                self.refuse_everywhere(h, 401, "invalid_api_key")
                self.refuse_everywhere({"OAUTH-TOKEN": DEMO_TOKEN}, 401,
                                       "invalid_api_key",
                                       query="?api_key=" + key)

    def test_no_token(self):
        self.refuse_everywhere({"X-API-KEY": API_KEY}, 401,
                               "invalid_oauth_token")
        self.refuse_everywhere({}, 401, "invalid_oauth_token",
                               query="?api_key=" + API_KEY)

    def test_unknown_token(self):
        other = DEMO_TOKEN[:-1] + ("h" if DEMO_TOKEN[-1] != "h" else "i")
        for tok in (other, "x", API_KEY, DEMO_TOKEN + "x"):
            for name, h in (("bearer", {"Authorization": "Bearer " + tok}),
                            ("oauth-token", {"OAUTH-TOKEN": tok}),
                            ("cookie", {"Cookie": "oauth_token=" + make_jwt(
                                {"expires": 32503680000.0, "token": tok})})):
                with self.subTest(token=tok, form=name):
                    self.refuse_everywhere(self.key_and(**h), 401,
                                           "invalid_oauth_token")

    def test_token_header_comes_first(self):
        # Bearer, *else* OAUTH-TOKEN, *else* the cookie
        self.refuse_everywhere(self.key_and(
            Authorization="Bearer nope", **{"OAUTH-TOKEN": DEMO_TOKEN,
                                           "Cookie": OAUTH_COOKIE}),
            401, "invalid_oauth_token")
        self.refuse_everywhere(self.key_and(
            **{"OAUTH-TOKEN": "nope", "Cookie": OAUTH_COOKIE}),
            401, "invalid_oauth_token")

    def test_revoked_token(self):
        for how in ("id", "token"):
            with self.subTest(revoke_by=how):
                tid, tok, cookie = self.issue("owner", "1h")
                forms = ({"Authorization": "Bearer " + tok},
                         {"OAUTH-TOKEN": tok}, {"Cookie": cookie})
                for h in forms:
                    r = self.call("GET", "/api/backfills/%d" % DEMO_ID, None,
                                  self.key_and(**h))
                    self.assertEqual(r.status, 200, r)
                self.ctlc("token", "revoke", str(tid) if how == "id" else tok)
                for h in forms:
                    self.refuse_everywhere(self.key_and(**h), 401,
                                           "invalid_oauth_token")

    def test_expired_token(self):
        _, tok, cookie = self.issue("owner", "1s")
        time.sleep(2.1)
        for h in ({"Authorization": "Bearer " + tok}, {"OAUTH-TOKEN": tok},
                  {"Cookie": cookie}):
            with self.subTest(h=h):
                self.refuse_everywhere(self.key_and(**h), 401,
                                       "expired_oauth_token")

    def bad_cookie(self, jwt):
        self.refuse_everywhere(self.key_and(Cookie="oauth_token=" + jwt),
                               401, "invalid_oauth_token")

    def test_jwt_bad_signature(self):
        for secret in (b"not-materia", b"materi", b"materia!", b""):
            with self.subTest(secret=secret):
                self.bad_cookie("%s.%s.%s" % (
                    JWT_HEADER, JWT_PAYLOAD,
                    sign(JWT_HEADER + "." + JWT_PAYLOAD, secret)))
        # the founding signature on another payload, a flipped signature,
        # a truncated one, none at all
        other = b64u(json.dumps({"expires": 1692314837.151939,
                                 "token": DEMO_TOKEN}))
        self.bad_cookie("%s.%s.%s" % (JWT_HEADER, other, JWT_SIG))
        flipped = JWT_SIG[:10] + ("A" if JWT_SIG[10] != "A" else "B") + \
            JWT_SIG[11:]
        self.bad_cookie("%s.%s.%s" % (JWT_HEADER, JWT_PAYLOAD, flipped))
        self.bad_cookie("%s.%s.%s" % (JWT_HEADER, JWT_PAYLOAD, JWT_SIG[:-4]))
        self.bad_cookie("%s.%s.%s" % (JWT_HEADER, JWT_PAYLOAD,
                                      JWT_SIG + "AAAA"))
        self.bad_cookie("%s.%s." % (JWT_HEADER, JWT_PAYLOAD))
        self.bad_cookie("%s.%s" % (JWT_HEADER, JWT_PAYLOAD))

    def test_jwt_alg_none(self):
        payload = b64u_decode(JWT_PAYLOAD)
        for alg in ("none", "None", "NONE"):
            with self.subTest(alg=alg):
                h = b64u(json.dumps({"alg": alg, "typ": "JWT"}))
                p = b64u(payload)
                self.bad_cookie("%s.%s." % (h, p))
                # even with an HS256 signature over it
                self.bad_cookie("%s.%s.%s" % (h, p, sign(h + "." + p)))

    def test_jwt_other_algs(self):
        payload = json.loads(b64u_decode(JWT_PAYLOAD))
        self.bad_cookie(make_jwt(payload, {"alg": "HS512", "typ": "JWT"},
                                 digest=hashlib.sha512))
        self.bad_cookie(make_jwt(payload, {"alg": "HS384", "typ": "JWT"},
                                 digest=hashlib.sha384))
        # an HS256 signature under another alg name, or no alg at all
        for header in ({"alg": "HS512", "typ": "JWT"},
                       {"alg": "RS256", "typ": "JWT"},
                       {"alg": "hs256", "typ": "JWT"},
                       {"typ": "JWT"}, {"alg": None}, {"alg": 256}):
            with self.subTest(header=header):
                self.bad_cookie(make_jwt(payload, header))

    def test_jwt_bad_base64url(self):
        # each part in turn holds a character base64url does not have;
        # the signature covers the parts exactly as sent
        for bad in ("*", "!", "%", "="):
            with self.subTest(bad=bad):
                h = JWT_HEADER[:5] + bad + JWT_HEADER[5:]
                self.bad_cookie("%s.%s.%s" % (h, JWT_PAYLOAD,
                                              sign(h + "." + JWT_PAYLOAD)))
                p = JWT_PAYLOAD[:5] + bad + JWT_PAYLOAD[5:]
                self.bad_cookie("%s.%s.%s" % (JWT_HEADER, p,
                                              sign(JWT_HEADER + "." + p)))
                self.bad_cookie("%s.%s.%s" % (JWT_HEADER, JWT_PAYLOAD,
                                              JWT_SIG[:5] + bad
                                              + JWT_SIG[6:]))
        # a part whose length no base64 text can have (4k+1)
        p = JWT_PAYLOAD + "A" * ((1 - len(JWT_PAYLOAD)) % 4)
        self.assertEqual(len(p) % 4, 1)
        self.bad_cookie("%s.%s.%s" % (JWT_HEADER, p,
                                      sign(JWT_HEADER + "." + p)))

    def test_jwt_payload_not_an_object_with_token(self):
        for payload in (b"not json", b"{", b'{"token": "%s"' %
                        DEMO_TOKEN.encode(), b"", b"null", b"1",
                        b'"%s"' % DEMO_TOKEN.encode(),
                        json.dumps([DEMO_TOKEN]).encode(),
                        json.dumps([{"token": DEMO_TOKEN}]).encode(),
                        json.dumps({"expires": 32503680000.0}).encode(),
                        json.dumps({"expires": 32503680000.0,
                                    "token": None}).encode(),
                        json.dumps({"expires": 32503680000.0,
                                    "token": 1}).encode(),
                        json.dumps({"expires": 32503680000.0,
                                    "token": [DEMO_TOKEN]}).encode(),
                        json.dumps({"expires": 32503680000.0,
                                    "Token": DEMO_TOKEN}).encode()):
            with self.subTest(payload=payload):
                self.bad_cookie(make_jwt(payload))

    def test_jwt_header_not_json(self):
        payload = json.loads(b64u_decode(JWT_PAYLOAD))
        for raw in (b64u("not json"), b64u("[]"), b64u('"HS256"'), ""):
            with self.subTest(header=raw):
                self.bad_cookie(make_jwt(payload, raw_header=raw))

    def test_garbage_cookie(self):
        for value in ("garbage", "", ".", "..", "...", "a.b.c",
                      "%s.%s.%s.%s" % (JWT_HEADER, JWT_PAYLOAD, JWT_SIG,
                                       JWT_SIG),
                      DEMO_TOKEN, JWT + "x",
                      "x" + JWT, "A" * 4000):
            with self.subTest(value=value[:40]):
                self.bad_cookie(value)
        # a cookie named otherwise carries nothing
        self.refuse_everywhere(self.key_and(Cookie="oauth_tokens=" + JWT),
                               401, "invalid_oauth_token")
        self.refuse_everywhere(self.key_and(Cookie="xoauth_token=" + JWT),
                               401, "invalid_oauth_token")

    def test_bearer_empty_or_malformed(self):
        for value in ("Bearer ", "Bearer", "Bearer  ", "Basic " + DEMO_TOKEN,
                      "Bearer " + DEMO_TOKEN + " extra",
                      "Bearer x" + DEMO_TOKEN):
            with self.subTest(value=value):
                self.refuse_everywhere(self.key_and(Authorization=value),
                                       401, "invalid_oauth_token")
        self.refuse_everywhere(self.key_and(**{"OAUTH-TOKEN": ""}), 401,
                               "invalid_oauth_token")

    def test_server_still_answers(self):
        self.assertAlive()
        r = self.req("GET", "/api/backfills/%d" % DEMO_ID)
        self.assertEqual(r.status, 200, r)


class TestRoles(AuthCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("pipeline", "add", "p_roles", check=True)

    def as_role(self, role):
        _, tok, cookie = self.issue(role, "1h")
        return ({"X-API-KEY": API_KEY, "Authorization": "Bearer " + tok},
                {"X-API-KEY": API_KEY, "Cookie": cookie})

    def started_backfill(self):
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2023-01-03", interval_type="day",
                          interval_units=1)
        self.put_ok(rec["id"], {"status": "initial"})
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d" % rec["id"])
        self.assertEqual(r.status, 200, r)
        return rec, r.json["pipeline_runs"]

    def test_viewer_reads(self):
        rec, runs = self.started_backfill()
        for h in self.as_role("viewer"):
            for path in ("/api/backfills", "/api/backfills/%d" % rec["id"],
                         "/api/pipelines/%s/backfills" % DEMO_PIPELINE,
                         "/api/pipelines/%s/backfills/%d"
                         % (DEMO_PIPELINE, rec["id"]),
                         "/api/backfills/%d?include_preview_runs=true"
                         % rec["id"],
                         "/api/pipeline_runs?backfill_id=%d" % rec["id"],
                         "/api/pipeline_runs/%d" % runs[0]["id"]):
                with self.subTest(path=path, h=h):
                    r = self.call("GET", path, None, h)
                    self.assertEqual(r.status, 200, r)

    def test_viewer_cannot_write(self):
        rec, runs = self.started_backfill()
        for h in self.as_role("viewer"):
            with self.subTest(h=h), self.unchanged():
                for method, path, body in (
                        ("PUT", "/api/backfills/%d" % rec["id"],
                         {"backfill": {"name": "viewer"}}),
                        ("PUT", "/api/pipelines/%s/backfills/%d"
                         % (DEMO_PIPELINE, rec["id"]),
                         {"backfill": {"status": "cancelled"}}),
                        ("POST", "/api/pipelines/%s/backfills"
                         % DEMO_PIPELINE, {"backfill": {"name": "v"}}),
                        ("DELETE", "/api/backfills/%d" % rec["id"], None),
                        ("DELETE", "/api/pipelines/%s/backfills/%d"
                         % (DEMO_PIPELINE, rec["id"]), None),
                        ("PUT", "/api/pipeline_runs/%d" % runs[0]["id"],
                         {"pipeline_run": {"status": "running"}})):
                    r = self.call(method, path, body, h)
                    self.assertError(r, 403, "unauthorized_access")
        self.assertEqual(self.show(rec["id"])["name"], None)

    def test_viewer_with_key_in_body(self):
        rec = self.create()
        _, tok, _ = self.issue("viewer", "1h")
        with self.unchanged():
            r = self.call("PUT", "/api/backfills/%d" % rec["id"],
                          {"api_key": API_KEY, "backfill": {"name": "v"}},
                          {"OAUTH-TOKEN": tok})
            self.assertError(r, 403, "unauthorized_access")

    def test_editor_writes(self):
        for h in self.as_role("editor"):
            with self.subTest(h=h):
                r = self.call("POST", "/api/pipelines/p_roles/backfills",
                              {"backfill": {"name": "ed"}}, h)
                self.assertEqual(r.status, 201, r)
                bid = r.json["backfill"]["id"]
                r = self.call("PUT", "/api/backfills/%d" % bid,
                              {"backfill": {"name": "ed2"}}, h)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["backfill"]["name"], "ed2")
                r = self.call("GET", "/api/backfills/%d" % bid, None, h)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["backfill"]["name"], "ed2")
                r = self.call("DELETE", "/api/backfills/%d" % bid, None, h)
                self.assertEqual(r.status, 200, r)
                r = self.call("GET", "/api/backfills/%d" % bid, None, h)
                self.assertError(r, 404, "record_not_found")

    def test_owner_writes(self):
        for h in self.as_role("owner"):
            with self.subTest(h=h):
                r = self.call("POST", "/api/pipelines/p_roles/backfills",
                              {"backfill": {"name": "own"}}, h)
                self.assertEqual(r.status, 201, r)
                bid = r.json["backfill"]["id"]
                r = self.call("PUT", "/api/backfills/%d" % bid,
                              {"backfill": {"name": "own2"}}, h)
                self.assertEqual(r.status, 200, r)
                r = self.call("DELETE", "/api/backfills/%d" % bid, None, h)
                self.assertEqual(r.status, 200, r)

    def test_expired_viewer_is_401_not_403(self):
        _, tok, _ = self.issue("viewer", "1s")
        time.sleep(2.1)
        self.refuse_everywhere(self.key_and(**{"OAUTH-TOKEN": tok}), 401,
                               "expired_oauth_token")


class TestSecretsStoredHashed(AuthCase):

    def db_bytes(self):
        data = b""
        for path in sorted(glob.glob(glob.escape(self.server.db) + "*")):
            with open(path, "rb") as f:
                data += f.read()
        return data

    def test_no_secret_in_clear(self):
        _, key = self.add_key("--name", "added")
        chosen = "e2e-chosen-secret-key-ZYXWVUTSRQPONMLK"
        self.add_key(chosen)
        _, tok, cookie = self.issue("editor", "1h")
        # use them all, so any caching or logging of them would happen
        for h in ({"X-API-KEY": API_KEY, "OAUTH-TOKEN": DEMO_TOKEN},
                  {"X-API-KEY": key, "Authorization": "Bearer " + tok},
                  {"X-API-KEY": chosen, "Cookie": cookie}):
            self.assertEqual(self.call("GET", "/api/backfills", None,
                                       h).status, 200)
            r = self.call("POST", "/api/pipelines/%s/backfills"
                          % DEMO_PIPELINE, {"backfill": {"name": "s"}}, h)
            self.assertEqual(r.status, 201, r)
        data = self.db_bytes()
        self.assertIn(b"arwen_starlight", data)   # we read the right file
        for secret in (API_KEY, DEMO_TOKEN, key, chosen, tok,
                       cookie[len("oauth_token="):], JWT):
            with self.subTest(secret=secret[:8]):
                for form in (secret.encode(), secret.encode("utf-16-le")):
                    self.assertNotIn(form, data)
        # nor through SQL (text anywhere in any table)
        dump = "\n".join(self.server.dump())
        for secret in (API_KEY, DEMO_TOKEN, key, chosen, tok):
            self.assertNotIn(secret, dump)
        # and `key list` / `token list` show no secrets
        listing = self.ctlc("key", "list") + self.ctlc("token", "list")
        for secret in (API_KEY, DEMO_TOKEN, key, chosen, tok):
            self.assertNotIn(secret, listing)


class TestNothingSecretLogged(AuthCase):
    """README, "Operations": nothing secret is logged, even at
    log_level = debug and on refusals. Credentials travel in headers and cookies only here (nginx
    itself may log a request line, and so a query string)."""

    EXTRA_CONF = "log_level = debug"

    def test_logs_hold_no_credential(self):
        _, key = self.add_key("--name", "logged")
        _, tok, cookie = self.issue("viewer", "1h")
        jwt_sig = cookie.rsplit(".", 1)[1]
        # (the demo credentials are public, and serve.sh prints them in
        # the founding curl; the ones issued here are secret)
        secrets = [key, tok, jwt_sig]
        for h in ({"X-API-KEY": API_KEY, "OAUTH-TOKEN": DEMO_TOKEN},
                  {"X-API-KEY": key, "Cookie": cookie},
                  {"X-API-KEY": key, "Authorization": "Bearer " + tok}):
            self.call("GET", "/api/backfills/%d" % DEMO_ID, None, h)
            self.call("GET", "/api/backfills/999999", None, h)
            self.call("PUT", "/api/backfills/%d" % DEMO_ID,
                      {"backfill": {"name": "v"}}, h)       # 403 / 200
            self.call("PUT", "/api/backfills/%d" % DEMO_ID,
                      b"{not json", h)
        self.ctlc("key", "revoke", key)
        self.call("GET", "/api/backfills", None,
                  {"X-API-KEY": key, "OAUTH-TOKEN": DEMO_TOKEN})
        self.call("GET", "/api/backfills", None,
                  {"X-API-KEY": API_KEY,
                   "Cookie": "oauth_token=%s.%s.%s" % (
                       JWT_HEADER, JWT_PAYLOAD, sign(
                           JWT_HEADER + "." + JWT_PAYLOAD, b"other"))})
        self.assertAlive()
        time.sleep(0.3)
        texts = []
        for path in glob.glob(os.path.join(self.server.tmp, "**"),
                              recursive=True):
            if (os.path.isfile(path) and not path.endswith(".conf") and
                    not os.path.basename(path).startswith(
                        os.path.basename(self.server.db))):
                try:
                    with open(path, "rb") as f:
                        texts.append((path, f.read()))
                except OSError:
                    pass
        self.assertTrue(any(p == self.server.log for p, _ in texts))
        for path, data in texts:
            for secret in secrets:
                self.assertNotIn(secret.encode(), data,
                                 "%s... in %s" % (secret[:6], path))


class TestWorkerNeedsSecret(unittest.TestCase):
    """With authentication on and no jwt_secret, the worker refuses to
    start and says why."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="bf-nosecret-")
        cls.db = os.path.join(cls.tmp, "b.db")
        p = subprocess.run([CTL_BIN, "--db", cls.db, "init", "--demo"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        if p.returncode != 0:
            raise RuntimeError("init --demo failed: %r" % p)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_worker(self, conf_text, env_extra=None):
        conf = os.path.join(self.tmp, "w.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        env = {k: v for k, v in os.environ.items()
               if k not in ("BACKFILLS_CONF", "REQUEST_METHOD",
                            "GATEWAY_INTERFACE", "PATH_INFO")}
        env.update(env_extra or {})
        return subprocess.run([FCGI_BIN, "-c", conf], cwd=self.tmp,
                              env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=20)

    def test_refuses_without_secret(self):
        p = self.run_worker("database = %s\nrequire_authentication = on\n"
                            % self.db)
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn(b"jwt_secret", p.stderr, p)

    def test_refuses_without_secret_as_cgi(self):
        # even when it would answer one CGI request
        p = self.run_worker("database = %s\nrequire_authentication = on\n"
                            % self.db,
                            {"GATEWAY_INTERFACE": "CGI/1.1",
                             "REQUEST_METHOD": "GET",
                             "PATH_INFO": "/api/status"})
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn(b"jwt_secret", p.stderr, p)

    def test_refuses_with_empty_secret(self):
        p = self.run_worker("database = %s\nrequire_authentication = on\n"
                            "jwt_secret =\n" % self.db)
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn(b"jwt_secret", p.stderr, p)

    def test_starts_with_secret(self):
        # the same conf with a secret: answers a CGI request (the control)
        p = self.run_worker("database = %s\nrequire_authentication = on\n"
                            "jwt_secret = materia\n" % self.db,
                            {"GATEWAY_INTERFACE": "CGI/1.1",
                             "REQUEST_METHOD": "GET",
                             "PATH_INFO": "/api/status",
                             "SERVER_PROTOCOL": "HTTP/1.1"})
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(b'"ok"', p.stdout, p)


if __name__ == "__main__":
    unittest.main()
