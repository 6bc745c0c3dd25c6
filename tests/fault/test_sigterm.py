"""SIGTERM while requests are in flight.

The pool on its own (backfills.fcgi -s SOCK -n N, spoken to over FastCGI
without nginx, so that its own behaviour is seen): requests made slow by a
write lock another process holds are in the workers when the pool gets
SIGTERM; they complete with their normal answers once the lock goes,
then every worker and the parent exit (status 0) and the socket is
removed; a request no worker took is not applied.

One worker of the nginx-fronted pool: SIGTERM mid-request, the request
completes, the worker exits and the pool replaces it."""

import os
import signal
import subprocess
import threading
import time

from common import (FaultCase, Locker, Pool, PoolCase, alive,
                    fcgi_request, read_rows, tempdir)

N = 3


class TestPoolSigterm(FaultCase):

    def start_pool(self, d):
        self.pool = Pool(d, N, "busy_timeout = 5000")
        self.addCleanup(self.cleanup)
        self.proc, self.db, self.sock = (self.pool.proc, self.pool.db,
                                         self.pool.sock)
        self.log_text = self.pool.log_text
        r = fcgi_request(self.sock, "GET", "/api/status")
        self.assertEqual(r.status, 200, r)

    def cleanup(self):
        self.assertEqual(self.pool.stop(), [], "sanitizer reports")

    def test_sigterm_finishes_requests_then_exits(self):
        with tempdir("bf-fault-term-", 0o700) as d:
            self.start_pool(d)
            ids = []
            for k in range(N):
                r = fcgi_request(self.sock, "POST",
                                 "/api/pipelines/arwen_starlight/backfills",
                                 {"backfill": {"name": "term-%d" % k}})
                self.assertEqual(r.status, 201, r)
                ids.append(r.json["backfill"]["id"])
            workers = self.pool.workers()
            slow = {}

            def slow_put(k):
                try:
                    slow[k] = fcgi_request(
                        self.sock, "PUT", "/api/backfills/%d" % ids[k],
                        {"backfill": {"name": "slow-%d" % k}}, timeout=20)
                except OSError as e:
                    slow[k] = e

            stream = []             # (value, answer) of the quick writes

            def stream_puts():
                misses = 0
                for i in range(10000):
                    v = "stream-%d" % i
                    try:
                        r = fcgi_request(self.sock, "PUT",
                                         "/api/backfills/%d" % ids[N - 1],
                                         {"backfill": {"name": v}},
                                         timeout=20)
                    except OSError:
                        r = None
                    stream.append((v, r))
                    misses = misses + 1 if r is None else 0
                    if misses >= 3:
                        return
                    time.sleep(0.01)

            # the stream runs first; then the lock makes it, and N - 1
            # more writes, slow: every worker holds a request
            st = threading.Thread(target=stream_puts)
            st.start()
            time.sleep(0.3)
            locker = Locker(self.db)
            try:
                n_before = len(stream)
                ts = [threading.Thread(target=slow_put, args=(k,))
                      for k in range(N - 1)]
                for t in ts:
                    t.start()
                time.sleep(0.5)
                self.assertEqual(slow, {}, "answered while locked")
                os.kill(self.proc.pid, signal.SIGTERM)
                time.sleep(0.5)
                # still in their requests: nobody has exited yet
                self.assertEqual(slow, {}, "answered while locked")
                still = [p for p in workers if alive(p)]
                self.assertEqual(still, workers,
                                 "workers exited mid-request")
            finally:
                locker.release()
            for t in ts:
                t.join(15)
            st.join(15)
            self.assertFalse(st.is_alive(), "stream hung")
            for k in range(N - 1):
                r = slow.get(k)
                self.assertFalse(isinstance(r, Exception) or r is None,
                                 "slow request %d: %r\n%s"
                                 % (k, r, self.log_text()))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["backfill"]["name"], "slow-%d" % k)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.fail("the pool did not exit within 10 s of its last "
                          "request:\n" + self.log_text())
            self.assertEqual(rc, 0, self.log_text())
            self.assertEqual([p for p in workers if alive(p)], [],
                             "workers left")
            self.assertFalse(os.path.exists(self.sock), "socket left")
            rows = read_rows(self.db)
            for k in range(N - 1):
                self.assertEqual(rows[ids[k]]["name"], "slow-%d" % k)
            # quick writes: each answered one is applied, the last
            # answered is the stored value (what no worker took is not)
            answered = [v for v, r in stream if r is not None]
            for v, r in stream:
                if r is not None:
                    self.assertEqual(r.status, 200, r)
            want = answered[-1] if answered else "term-%d" % (N - 1)
            self.assertEqual(rows[ids[N - 1]]["name"], want,
                             "stream: %d answered, %d not"
                             % (len(answered), len(stream) - len(answered)))
            self.assertGreater(n_before, 3, "the stream did not run")
            # the stream's write the lock held completed after SIGTERM
            self.assertGreater(len(answered), n_before, "the stream's "
                               "request in flight at SIGTERM got no answer")
            print("\n  SIGTERM: %d requests in flight completed, stream %d "
                  "answered / %d refused at the socket; pool exited %d"
                  % (N, len(answered), len(stream) - len(answered), rc),
                  end=" ")


class TestWorkerSigterm(PoolCase):
    WORKERS = 1
    EXTRA_CONF = "busy_timeout = 5000"

    def test_sigterm_to_worker_mid_request(self):
        bid = self.create(name="wterm")["id"]
        [worker] = self.workers()
        out = {}

        def put():
            out["r"] = self.req("PUT", "/api/backfills/%d" % bid,
                                {"backfill": {"name": "finished"}},
                                timeout=20)

        locker = Locker(self.db)
        try:
            t = threading.Thread(target=put)
            t.start()
            time.sleep(0.5)
            os.kill(worker, signal.SIGTERM)
            time.sleep(0.5)
            self.assertTrue(alive(worker), "worker exited mid-request")
            self.assertEqual(out, {}, "answered while locked")
        finally:
            locker.release()
        t.join(15)
        r = out.get("r")
        self.assertIsNotNone(r, "no answer")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "finished")
        self.assertEqual(read_rows(self.db)[bid]["name"], "finished")
        pids, took = self.wait_workers(gone=[worker], timeout=3)
        self.assertFalse(alive(worker))
        r = self.req("GET", "/api/backfills/%d" % bid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "finished")
