#!/usr/bin/env python3
"""
Two hosts, one database: two separate worker pools (two scripts/serve.sh,
each its own nginx, supervisor, workers and socket, standing in for two
app hosts) against one PostgreSQL database, plus a front nginx whose
upstream is both pools' sockets (the multi-host layout of
docs/POSTGRESQL.md). Concurrent writers go through all three:

- writers of different fields of one backfill: nothing lost, the
  version (ETag) grew by exactly the number of updates;
- If-Match counters: read-modify-write loops with If-Match on one
  backfill, retried on 412: the counter equals the successful updates
  and the version grew by exactly as many;
- creators on both pools: every id distinct, every record listed by
  both pools, the kept count exact;
- executors reporting on the runs of one backfill from both pools: the
  backfill follows to completed with exact run counts;

and no answer anywhere is a 5xx. Then `backfillctl check` (kept counts
against the rows) passes.

Run: python3 tests/pg/test_two_pools.py [-v] (uses $PG_DIR's server, or
starts a throwaway one). Needs serve.sh to accept a postgresql:// DB.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "e2e")))
sys.path.insert(0, HERE)

import harness          # noqa: E402
import pgtest           # noqa: E402

PIPELINE = harness.DEMO_PIPELINE


class Front:
    """nginx on a port of its own, its upstream every pool's socket
    (rendered from nginx.conf.example as serve.sh does), stopped by
    pid."""

    def __init__(self, sockets):
        self.dir = tempfile.mkdtemp(prefix="bf-front-")
        os.chmod(self.dir, 0o755)
        self.port = harness.free_port()
        with open(os.path.join(harness.ROOT, "nginx.conf.example")) as f:
            conf = f.read()
        servers = "\n".join("        server unix:%s;" % s for s in sockets)
        conf = re.sub(r"^\s*server unix:@SOCKET@;$", servers, conf,
                      flags=re.M)
        user = "user www-data www-data;" if os.getuid() == 0 else ""
        for k, v in (("@USER_LINE@", user), ("@RUNDIR@", self.dir),
                     ("@PORT@", str(self.port)), ("@MAX_BODY@", "1m")):
            conf = conf.replace(k, v)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") \
            else "nginx"
        self.proc = subprocess.Popen(
            [nginx, "-p", self.dir, "-c", self.conf, "-e",
             os.path.join(self.dir, "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if self.request("GET", "/api/status").status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("front nginx exited")
            time.sleep(0.1)
        raise RuntimeError("front nginx did not answer")

    def request(self, *a, **kw):
        # the harness's HTTP client, on this port
        return harness.Server.request(self, *a, **kw)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class TwoPools(unittest.TestCase):
    WORKERS = 3

    @classmethod
    def setUpClass(cls):
        cls.pg = pgtest.PgServer().start()
        cls.dbname = cls.pg.createdb("pools")
        cls.uri = cls.pg.uri(cls.dbname)
        cls.pools = []
        cls.front = None
        try:
            for name in ("hostA", "hostB"):
                # log_level = debug: a line per request, to count them
                s = harness.Server("log_level = debug",
                                   workers=cls.WORKERS, name=name)
                s.db = cls.uri          # both on the one database
                cls.pools.append(s.start())
            cls.front = Front([os.path.join(s.rundir, "backfills.sock")
                               for s in cls.pools]).start()
        except Exception:
            cls.tearDownClass()
            raise
        cls.targets = cls.pools + [cls.front]
        cls.bad = []
        cls.bad_lock = threading.Lock()

    @classmethod
    def tearDownClass(cls):
        if cls.front is not None:
            cls.front.stop()
        for s in cls.pools:
            s.stop()
        cls.pg.dropdb(cls.dbname)
        cls.pg.stop()

    # -- helpers --------------------------------------------------------

    def call(self, target, method, path, body=None, headers=None):
        r = target.request(method, path, body, headers, timeout=30)
        if r.status >= 500:
            with self.bad_lock:
                self.bad.append((method, path, r.status, r.body[:200]))
        return r

    def version(self, r):
        return int(r.header("ETag").strip('"').split("-")[1])

    def run_threads(self, fns):
        errors = []

        def wrap(fn):
            try:
                fn()
            except Exception as e:      # noqa: BLE001 (reported below)
                errors.append(repr(e))

        ts = [threading.Thread(target=wrap, args=(f,)) for f in fns]
        for t in ts:
            t.start()
        for t in ts:
            t.join(300)
        self.assertFalse(any(t.is_alive() for t in ts), "threads hung")
        self.assertEqual(errors, [])

    def create(self, target, **fields):
        r = self.call(target, "POST", "/api/pipelines/%s/backfills"
                      % PIPELINE, {"backfill": fields})
        self.assertEqual(r.status, 201, r)
        return r.json["backfill"]["id"], self.version(r)

    def tearDown(self):
        self.assertEqual(self.bad, [], "5xx answers")

    # -- tests ----------------------------------------------------------

    def test_writers_of_different_fields(self):
        bid, v0 = self.create(self.pools[0], name="start")
        n = 120
        fields = ["name", "block_uuid", "settings", "variables"]

        def writer(k):
            target = self.targets[k % len(self.targets)]
            field = fields[k]
            for i in range(n):
                value = ({"k": k, "i": i} if field in ("settings",
                                                       "variables")
                         else "%s-%03d" % (field, i))
                r = self.call(target, "PUT", "/api/backfills/%d" % bid,
                              {"backfill": {field: value}})
                assert r.status == 200, r
                assert r.json["backfill"][field] == value, r

        self.run_threads([lambda k=k: writer(k) for k in range(4)])
        for target in self.targets:
            r = self.call(target, "GET", "/api/backfills/%d" % bid)
            rec = r.json["backfill"]
            self.assertEqual(rec["name"], "name-%03d" % (n - 1))
            self.assertEqual(rec["block_uuid"], "block_uuid-%03d" % (n - 1))
            self.assertEqual(rec["settings"], {"k": 2, "i": n - 1})
            self.assertEqual(rec["variables"], {"k": 3, "i": n - 1})
            self.assertEqual(self.version(r), v0 + 4 * n)

    def test_if_match_counters_exact(self):
        bid, v0 = self.create(self.pools[1], name="0")
        per_thread = 40
        done = []
        lock = threading.Lock()

        def incrementer(k):
            target = self.targets[k % len(self.targets)]
            ok = 0
            while ok < per_thread:
                g = self.call(target, "GET", "/api/backfills/%d" % bid)
                assert g.status == 200, g
                count = int(g.json["backfill"]["name"])
                r = self.call(target, "PUT", "/api/backfills/%d" % bid,
                              {"backfill": {"name": str(count + 1)}},
                              {"If-Match": g.header("ETag")})
                if r.status == 412:
                    continue        # someone else went first: reload
                assert r.status == 200, r
                assert self.version(r) == self.version(g) + 1, r
                ok += 1
            with lock:
                done.append(ok)

        self.run_threads([lambda k=k: incrementer(k) for k in range(6)])
        total = sum(done)
        self.assertEqual(total, 6 * per_thread)
        for target in self.targets:
            r = self.call(target, "GET", "/api/backfills/%d" % bid)
            self.assertEqual(r.json["backfill"]["name"], str(total))
            self.assertEqual(self.version(r), v0 + total)

    def test_creates_on_both_pools(self):
        before = self.call(self.pools[0], "GET", "/api/backfills").json[
            "metadata"]["count"]
        ids = []
        lock = threading.Lock()

        def creator(k):
            target = self.targets[k % len(self.targets)]
            for i in range(30):
                bid, _ = self.create(target, name="c%d-%d" % (k, i))
                with lock:
                    ids.append(bid)

        self.run_threads([lambda k=k: creator(k) for k in range(6)])
        self.assertEqual(len(ids), 180)
        self.assertEqual(len(set(ids)), 180)
        for target in self.targets:
            lst = self.call(target, "GET",
                            "/api/backfills?_limit=1000").json
            self.assertEqual(lst["metadata"]["count"], before + 180)
            self.assertTrue(set(ids) <= {b["id"] for b in
                                          lst["backfills"]})

    def test_run_reports_from_both_pools(self):
        bid, _ = self.create(self.pools[0], name="runs",
                             start_datetime="2023-01-01",
                             end_datetime="2023-02-09", interval_type="day",
                             interval_units=1)
        r = self.call(self.pools[1], "PUT", "/api/backfills/%d" % bid,
                      {"backfill": {"status": "initial"}})
        self.assertEqual(r.status, 200, r)
        runs = self.call(self.pools[0], "GET", "/api/pipeline_runs?"
                         "backfill_id=%d&_limit=1000" % bid).json[
            "pipeline_runs"]
        self.assertEqual(len(runs), 40)

        def executor(k):
            for i, run in enumerate(runs):
                if i % 4 != k:
                    continue
                target = self.targets[(i + k) % len(self.targets)]
                for st in ("running", "completed"):
                    r = self.call(target, "PUT", "/api/pipeline_runs/%d"
                                  % run["id"],
                                  {"pipeline_run": {"status": st}})
                    assert r.status == 200, r

        self.run_threads([lambda k=k: executor(k) for k in range(4)])
        for target in self.targets:
            rec = self.call(target, "GET", "/api/backfills/%d?"
                            "include_run_count=1" % bid).json["backfill"]
            self.assertEqual(rec["status"], "completed")
            self.assertEqual(rec["run_status_counts"]["completed"], 40)
            self.assertEqual(sum(rec["run_status_counts"].values()), 40)

    def test_claims_from_both_pools_are_exclusive(self):
        """Six executors claim through both pools and the front on one
        PostgreSQL database: each run is handed out once (the claim
        locks the backfill's row, then takes the run only if it is
        still unclaimed: across hosts too), each report lands, and the
        backfill completes."""
        bid, _ = self.create(self.pools[0], name="claims",
                             start_datetime="2023-03-01",
                             end_datetime="2023-04-29", interval_type="day",
                             interval_units=1)
        r = self.call(self.pools[1], "PUT", "/api/backfills/%d" % bid,
                      {"backfill": {"status": "initial"}})
        self.assertEqual(r.status, 200, r)
        got, lock = [], threading.Lock()

        def executor(k):
            i = 0
            while True:
                i += 1
                target = self.targets[(i + k) % len(self.targets)]
                r = self.call(target, "POST", "/api/pipeline_runs/claim",
                              {"claim": {"executor": "x%d" % k}})
                assert r.status == 200, r
                run = r.json["pipeline_run"]
                if run is None:
                    return
                with lock:
                    got.append(run["id"])
                target = self.targets[(i + k + 1) % len(self.targets)]
                r = self.call(target, "PUT", "/api/pipeline_runs/%d"
                              % run["id"], {"pipeline_run": {
                                  "lease_id": run["lease_id"],
                                  "status": "completed"}})
                assert r.status == 200, r

        self.run_threads([lambda k=k: executor(k) for k in range(6)])
        self.assertEqual(len(got), 60)
        self.assertEqual(len(set(got)), 60)
        rec = self.call(self.pools[0], "GET", "/api/backfills/%d?"
                        "include_run_count=1" % bid).json["backfill"]
        self.assertEqual(rec["status"], "completed")
        self.assertEqual(rec["run_status_counts"], {"completed": 60})

    def test_cancel_racing_run_reports(self):
        """A cancel from one pool while executors report from both:
        every answer 200 or 409 (a report on a run the cancel reached
        first), never a deadlock's 503; the counts add up."""
        bid, _ = self.create(self.pools[0], name="race",
                             start_datetime="2023-01-01 00:00:00",
                             end_datetime="2023-01-03 11:00:00",
                             interval_type="hour", interval_units=1)
        r = self.call(self.pools[0], "PUT", "/api/backfills/%d" % bid,
                      {"backfill": {"status": "initial"}})
        self.assertEqual(r.status, 200, r)
        runs = self.call(self.pools[1], "GET", "/api/pipeline_runs?"
                         "backfill_id=%d&_limit=1000" % bid).json[
            "pipeline_runs"]
        self.assertEqual(len(runs), 60)
        started = threading.Event()

        def executor(k):
            for i, run in enumerate(runs):
                if i % 3 != k:
                    continue
                target = self.targets[(i + k) % len(self.targets)]
                for st in ("running", "completed"):
                    r = self.call(target, "PUT", "/api/pipeline_runs/%d"
                                  % run["id"],
                                  {"pipeline_run": {"status": st}})
                    assert r.status in (200, 409), r
                    started.set()

        def canceller():
            started.wait(30)
            time.sleep(0.05)
            r = self.call(self.pools[1], "PUT", "/api/backfills/%d" % bid,
                          {"backfill": {"status": "cancelled"}})
            assert r.status in (200, 409), r

        self.run_threads([lambda k=k: executor(k) for k in range(3)] +
                         [canceller])
        rec = self.call(self.front, "GET", "/api/backfills/%d?"
                        "include_run_count=1" % bid).json["backfill"]
        counts = rec["run_status_counts"]
        self.assertEqual(sum(counts.values()), 60)
        if rec["status"] == "cancelled":
            self.assertEqual(counts.get("initial", 0) + counts.get("running", 0), 0)
        listed = self.call(self.pools[0], "GET", "/api/pipeline_runs?"
                           "backfill_id=%d&_limit=1000" % bid).json[
            "pipeline_runs"]
        by_status = {}
        for run in listed:
            by_status[run["status"]] = by_status.get(run["status"], 0) + 1
        for st, n in counts.items():
            self.assertEqual(by_status.get(st, 0), n, (st, by_status))

    def test_zz_both_pools_served_and_check(self):
        for s in self.pools:
            with open(s.log, "rb") as f:
                served = f.read().count(b" -> ")
            self.assertGreater(served, 200, "%s served %d" % (s.rundir,
                                                              served))
        p = self.pools[0].ctl("check")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"integrity ok", p.stdout)


if __name__ == "__main__":
    unittest.main()
