"""Idempotent creates (docs/API.md "Idempotency-Key"): a POST with an
Idempotency-Key that is retried with the same key, by the same
credentials, answers the first answer again (for at least a day)
instead of creating a second record; the same key with another body is
422 and changes nothing; only answers that succeeded are kept."""

import re
import threading

from harness import ServerTestCase, DEMO_PIPELINE

PATH = "/api/pipelines/%s/backfills" % DEMO_PIPELINE


class TestIdempotency(ServerTestCase):

    def post(self, body, key, headers=None, **kw):
        h = {"Idempotency-Key": key}
        h.update(headers or {})
        return self.req("POST", PATH, body, h, **kw)

    def count(self):
        r = self.req("GET", "/api/backfills?_limit=1")
        return r.json["metadata"]["count"]

    def test_a_retry_gets_the_first_answer(self):
        body = {"backfill": {"name": "once"}}
        first = self.post(body, "key-1")
        self.assertEqual(first.status, 201, first)
        n = self.count()
        again = self.post(body, "key-1")
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.json, first.json)
        self.assertEqual(again.header("Location"), first.header("Location"))
        self.assertEqual(again.header("ETag"), first.header("ETag"))
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertIsNone(first.header("Idempotent-Replayed"))
        self.assertEqual(self.count(), n)
        # a new key is a new request
        other = self.post(body, "key-2")
        self.assertEqual(other.status, 201, other)
        self.assertNotEqual(other.json["backfill"]["id"],
                            first.json["backfill"]["id"])

    def test_another_body_with_a_used_key(self):
        self.assertEqual(self.post({"backfill": {"name": "a"}}, "key-3")
                         .status, 201)
        with self.unchanged():
            r = self.post({"backfill": {"name": "b"}}, "key-3")
            self.assertError(r, 422, "idempotency_key_reused")

    def test_keys_are_per_credentials(self):
        body = {"backfill": {"name": "mine"}}
        mine = self.post(body, "shared-key")
        out = self.server.ctl("token", "issue", "--role", "editor",
                              check=True).stdout.decode()
        tok = re.search(r"^token:\s+(\S+)", out, re.M).group(1)
        theirs = self.post(body, "shared-key",
                           {"Authorization": "Bearer " + tok, "Cookie": ""})
        self.assertEqual(theirs.status, 201, theirs)
        self.assertNotEqual(theirs.json["backfill"]["id"],
                            mine.json["backfill"]["id"])

    def test_only_successes_are_kept(self):
        r = self.post({"backfill": {"interval_type": "fortnight"}}, "key-4")
        self.assertInvalid(r, "interval_type")
        r = self.post({"backfill": {"name": "fixed"}}, "key-4")
        self.assertEqual(r.status, 201, r)

    def test_bad_keys(self):
        for key in ("has space", "x" * 256, "caf\u00e9"):
            with self.subTest(key=key), self.unchanged():
                r = self.req("POST", PATH, {"backfill": {"name": "k"}},
                             {"Idempotency-Key": key.encode("utf-8")
                              .decode("latin-1")})
                self.assertError(r, 400, "invalid_query")

    def test_concurrent_retries_create_once(self):
        n0 = self.count()
        out, lock = [], threading.Lock()

        def go():
            r = self.post({"backfill": {"name": "race"}}, "key-race")
            with lock:
                out.append((r.status, r.json.get("backfill", {}).get("id")))
        ts = [threading.Thread(target=go) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual({s for s, _ in out}, {201}, out)
        self.assertEqual(len({i for _, i in out}), 1, out)
        self.assertEqual(self.count(), n0 + 1)

    def test_claims_too(self):
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2023-01-02", interval_type="day",
                          interval_units=1)
        self.put_ok(rec["id"], {"status": "initial"})
        body = {"claim": {"executor": "e1"}}
        a = self.req("POST", "/api/pipeline_runs/claim", body,
                     {"Idempotency-Key": "claim-1"})
        b = self.req("POST", "/api/pipeline_runs/claim", body,
                     {"Idempotency-Key": "claim-1"})
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json, b.json)
        c = self.req("POST", "/api/pipeline_runs/claim", body,
                     {"Idempotency-Key": "claim-2"})
        self.assertNotEqual(c.json["pipeline_run"]["id"],
                            a.json["pipeline_run"]["id"])
