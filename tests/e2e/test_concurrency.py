"""Concurrent writers on different fields; a database held locked past
busy_timeout (503 + Retry-After); WAL mode."""

import sqlite3
import threading
import time

from harness import ServerTestCase


class TestConcurrentUpdates(ServerTestCase):
    WORKERS = 4
    N = 200

    def test_two_writers_different_fields(self):
        r = self.req("POST", "/api/pipelines/arwen_starlight/backfills",
                     {"backfill": {"name": "start", "block_uuid": "start"}})
        self.assertEqual(r.status, 201, r)
        bid, v0 = self.etag_version(r)
        errors = []

        def writer(field, prefix):
            try:
                for i in range(self.N):
                    resp = self.put(bid, {field: "%s-%03d" % (prefix, i)})
                    if resp.status != 200:
                        errors.append((field, i, resp))
                        return
                    if resp.json["backfill"][field] != "%s-%03d" % (prefix,
                                                                    i):
                        errors.append((field, i, "echo", resp))
                        return
            except Exception as e:      # noqa: BLE001 (report, not hang)
                errors.append((field, repr(e)))

        ts = [threading.Thread(target=writer, args=("name", "a")),
              threading.Thread(target=writer, args=("block_uuid", "b"))]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(90)
        self.assertFalse(any(t.is_alive() for t in ts), "writers hung")
        self.assertEqual(errors, [])
        g = self.req("GET", "/api/backfills/%d" % bid)
        rec = g.json["backfill"]
        self.assertEqual(rec["name"], "a-%03d" % (self.N - 1))
        self.assertEqual(rec["block_uuid"], "b-%03d" % (self.N - 1))
        self.assertEqual(self.etag_version(g), (bid, v0 + 2 * self.N))
        self.assertLess(time.monotonic() - t0, 60)

    def test_parallel_creates_distinct_ids(self):
        ids, errors = [], []
        lock = threading.Lock()

        def creator(k):
            try:
                for i in range(25):
                    r = self.req("POST",
                                 "/api/pipelines/arwen_starlight/backfills",
                                 {"backfill": {"name": "c%d-%d" % (k, i)}})
                    if r.status != 201:
                        errors.append(r)
                        return
                    with lock:
                        ids.append(r.json["backfill"]["id"])
            except Exception as e:      # noqa: BLE001
                errors.append(repr(e))

        ts = [threading.Thread(target=creator, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), 100)
        self.assertEqual(len(set(ids)), 100)
        lst = self.req("GET", "/api/backfills?_limit=1000").json
        listed = {b["id"] for b in lst["backfills"]}
        self.assertTrue(set(ids) <= listed)


class TestLocked(ServerTestCase):
    EXTRA_CONF = "busy_timeout = 200"

    def lock_for(self, seconds, ready):
        con = sqlite3.connect(self.server.db, timeout=5,
                              isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            ready.set()
            time.sleep(seconds)
            con.execute("ROLLBACK")
        finally:
            con.close()

    def test_wal_mode(self):
        con = sqlite3.connect(self.server.db, timeout=5)
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            con.close()
        self.assertEqual(mode.lower(), "wal")

    def test_write_lock_gives_503_then_works(self):
        bid = self.create(name="locked")["id"]
        ready = threading.Event()
        t = threading.Thread(target=self.lock_for, args=(1.5, ready))
        t.start()
        try:
            self.assertTrue(ready.wait(5))
            before = self.server.dump()
            t0 = time.monotonic()
            r = self.put(bid, {"name": "while-locked"})
            took = time.monotonic() - t0
            self.assertError(r, 503, "unavailable")
            ra = r.header("Retry-After")
            self.assertIsNotNone(ra, "no Retry-After on %r" % r)
            self.assertRegex(ra, r"^\d+$")
            self.assertLess(took, 1.4, "busy_timeout = 200 not honoured")
            # a create and a delete are refused the same way
            r = self.req("POST", "/api/pipelines/arwen_starlight/backfills",
                         {"backfill": {"name": "while-locked"}})
            self.assertError(r, 503, "unavailable")
            self.assertIsNotNone(r.header("Retry-After"))
            r = self.req("DELETE", "/api/backfills/%d" % bid)
            self.assertError(r, 503, "unavailable")
            # readers are not blocked by a writer in WAL mode
            r = self.req("GET", "/api/backfills/%d" % bid)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["backfill"]["name"], "locked")
            r = self.req("GET", "/api/status")
            self.assertEqual(r.status, 200, r)
        finally:
            t.join(10)
        self.assertEqual(self.server.dump(), before)
        r = self.put(bid, {"name": "after-lock"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "after-lock")


class TestDurabilityNormal(ServerTestCase):
    EXTRA_CONF = "durability = normal\nbusy_timeout = 1000"

    def test_writes_work_and_are_visible_in_the_file(self):
        rec = self.create(name="normal")
        out = self.put_ok(rec["id"], {"name": "normal2",
                                      "interval_units": 3})
        self.assertEqual(out["name"], "normal2")
        con = sqlite3.connect(self.server.db, timeout=5)
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            dump = "\n".join(con.iterdump())
        finally:
            con.close()
        self.assertEqual(mode.lower(), "wal")
        self.assertIn("normal2", dump)
