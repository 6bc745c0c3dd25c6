"""A request must not commit after the web server stopped waiting for it
(docs/RELIABILITY.md, "Deadline"): nginx gives up at its
fastcgi_read_timeout (30 s) and answers 503, and a client may then
retry. A write that reaches its commit later than request_deadline
(below that timeout) is rolled back and answered 503, so the retry
cannot make a second record. Here: the database's lock held by another
process for longer than the deadline (busy_timeout longer still), so
the writes wait, then find their deadline passed."""

import time

from common import PIPELINE, FaultCase, Locker, Pool, dump, tempdir


class TestDeadline(FaultCase):

    def test_no_commit_past_the_deadline(self):
        with tempdir("bf-fault-deadline-") as d:
            pool = Pool(d, workers=2,
                        extra="busy_timeout = 10000\nrequest_deadline = 2")
            try:
                before = dump(pool.db)
                locker = Locker(pool.db)
                t0 = time.monotonic()
                try:
                    import threading
                    out = []
                    t = threading.Thread(target=lambda: out.append(
                        pool.request("POST", "/api/pipelines/%s/backfills"
                                     % PIPELINE,
                                     {"backfill": {"name": "late"}})))
                    t.start()
                    time.sleep(3)
                finally:
                    locker.release()
                t.join(15)
                took = time.monotonic() - t0
                (r,) = out
                self.assertUnavailable(r, "a write past its deadline")
                self.assertIn("request_deadline",
                              r.json["error"]["message"])
                self.assertGreater(took, 2.9)
                self.assertEqual(dump(pool.db), before)
                # in time, the same write goes through
                r = pool.request("POST", "/api/pipelines/%s/backfills"
                                 % PIPELINE, {"backfill": {"name": "ok"}})
                self.assertEqual(r.status, 201, r)
            finally:
                self.assertEqual(pool.stop(), [])
