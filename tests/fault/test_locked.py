"""The database locked by another process (BEGIN IMMEDIATE held, with an
uncommitted change) past busy_timeout: every write answers a JSON 503
with Retry-After within about busy_timeout, changes nothing and does not
see the other process's uncommitted change; reads and /api/status go on
(WAL); after release, normal service."""

import threading
import time

from common import (PIPELINE, Ledger, Locker, PoolCase, dump, read_rows)


class TestLocked(PoolCase):
    EXTRA_CONF = "busy_timeout = 200"
    WORKERS = 3

    def test_locked_past_busy_timeout(self):
        bid = self.create(name="locked", block_uuid="b0")["id"]
        other = self.create(name="other")["id"]
        before = dump(self.db)
        locker = Locker(self.db, dirty=True)
        ledger = Ledger()
        slowest = [0.0]
        try:
            def writer(k):
                for i in range(8):
                    t0 = time.monotonic()
                    if i % 4 == 0:
                        name = "locked-w%d-%d" % (k, i)
                        r = self.req("POST", "/api/pipelines/%s/backfills"
                                     % PIPELINE, {"backfill": {"name": name}})
                        ledger.create(name, r)
                    elif i % 4 == 3:
                        r = self.req("DELETE", "/api/backfills/%d" % other)
                        ledger.delete(other, r)
                    else:
                        f = {"block_uuid": "w%d-%d" % (k, i)}
                        r = self.req("PUT", "/api/backfills/%d" % bid,
                                     {"backfill": f})
                        ledger.update(bid, f, r)
                    slowest[0] = max(slowest[0], time.monotonic() - t0)
                    if r is None or r.status != 503:
                        ledger.bad("while locked: %r" % r)
                    elif r.header("Retry-After") is None:
                        ledger.bad("503 without Retry-After: %r" % r)
                    elif r.json["error"]["message"] == "Service unavailable.":
                        ledger.bad("nginx's 503, not the worker's: %r" % r)

            ts = [threading.Thread(target=writer, args=(k,))
                  for k in range(4)]
            for t in ts:
                t.start()
            # reads are not blocked by a writer, and see no uncommitted
            # change
            for _ in range(10):
                r = self.req("GET", "/api/backfills/%d" % bid)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["backfill"]["name"], "locked")
                r = self.req("GET", "/api/status")
                self.assertEqual(r.status, 200, r)
            for t in ts:
                t.join(30)
            self.assertFalse(any(t.is_alive() for t in ts), "writers hung")
            # run_status reports from executors are writes too
            r = self.req("PUT", "/api/pipeline_runs/1",
                         {"pipeline_run": {"status": "running"}})
            self.assertIn(r.status, (503, 404), r)
            self.assertProperError(r)
            during = dump(self.db)
        finally:
            locker.release()
        self.assertNoProblems(ledger.bad_answers, "answers while locked")
        self.assertEqual(ledger.counts["refused"], 32)
        # 4 writers x 8 requests, each refused after ~busy_timeout; with
        # 3 workers some wait for a worker first
        self.assertLess(slowest[0], 2.0, "a refusal took %.2f s" % slowest[0])
        self.assertEqual(during, before, "changed while locked")
        self.assertEqual(dump(self.db), before, "changed by a refused write")
        self.assertNoProblems(ledger.verify(read_rows(self.db)), "ledger")
        # after release: normal service
        r = self.req("PUT", "/api/backfills/%d" % bid,
                     {"backfill": {"name": "after"}})
        self.assertEqual(r.status, 200, r)
        r = self.req("DELETE", "/api/backfills/%d" % other)
        self.assertEqual(r.status, 200, r)
        rows = read_rows(self.db)
        self.assertEqual(rows[bid]["name"], "after")
        self.assertNotIn(other, rows)
        self.create(name="after-lock")
