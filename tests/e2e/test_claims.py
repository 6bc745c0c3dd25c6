"""Executors' claims and leases, over HTTP (README "Backfill lifecycle
and executors"; the executor itself is tested in tests/exec): the next
run is handed out oldest first, once, never past a backfill's run
limit; a lease is renewed by its holder only; a lapsed one fails its
run (the reason in its metrics) and a retry policy plans the date again after its delay; a
report on a lost lease is 409 and changes nothing; and a backfill never
waits on nothing."""

import threading
import time

from harness import ServerTestCase, DEMO_PIPELINE

LEASE = 5


class ClaimsCase(ServerTestCase):
    EXTRA_CONF = "run_lease = %d" % LEASE

    def started(self, start="2023-01-01", end="2023-01-05", **extra):
        rec = self.create(start_datetime=start, end_datetime=end,
                          interval_type="day", interval_units=1, **extra)
        self.put_ok(rec["id"], {"status": "initial"})
        return rec["id"]

    def claim(self, executor="exec-1", pipelines=None, status=200):
        body = {"claim": {"executor": executor}}
        if pipelines is not None:
            body["claim"]["pipelines"] = pipelines
        r = self.req("POST", "/api/pipeline_runs/claim", body)
        self.assertEqual(r.status, status, r)
        return r.json.get("pipeline_run") if status == 200 else r

    def report(self, run, **fields):
        body = {"pipeline_run": dict(fields)}
        if "lease_id" not in fields and run.get("lease_id"):
            body["pipeline_run"]["lease_id"] = run["lease_id"]
        return self.req("PUT", "/api/pipeline_runs/%d" % run["id"], body)

    def runs(self, bid):
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&_limit=1000"
                     % bid)
        self.assertEqual(r.status, 200, r)
        return r.json["pipeline_runs"]

    def status(self, bid):
        return self.show(bid)["status"]

    def setUp(self):
        """Cancels what other tests left started, so that no lease of
        theirs lapses (and is swept) during this one."""
        r = self.req("GET", "/api/backfills?_limit=1000")
        for b in r.json["backfills"]:
            if b["status"] in ("initial", "running"):
                self.put_ok(b["id"], {"status": "cancelled"})


class TestClaims(ClaimsCase):

    def test_oldest_first_with_lease_and_plan(self):
        bid = self.started(name="first")
        run = self.claim()
        self.assertEqual(run["backfill_id"], bid)
        self.assertEqual(run["execution_date"], "2023-01-01 00:00:00")
        self.assertEqual((run["status"], run["executor"]),
                         ("running", "exec-1"))
        self.assertEqual(run["lease_seconds"], LEASE)
        self.assertGreaterEqual(len(run["lease_id"]), 32)
        self.assertEqual(run["backfill_name"], "first")
        self.assertEqual(run["plan"], {
            "ds": "2023-01-01", "hr": "00",
            "execution_date": "2023-01-01T00:00:00",
            "interval_start_datetime": "2023-01-01T00:00:00",
            "interval_end_datetime": "2023-01-02T00:00:00",
            "interval_seconds": 86400,
            "interval_start_datetime_previous": "2022-12-31T00:00:00"})
        self.assertRecent(run["started_at"])
        # the lease's id is the holder's alone: never listed
        for listed in self.runs(bid):
            self.assertNotIn("lease_id", listed)
        # the backfill follows its first running run
        self.assertEqual(self.status(bid), "running")
        self.assertEqual(self.claim()["execution_date"],
                         "2023-01-02 00:00:00")

    def test_pipelines_filter(self):
        self.server.ctl("pipeline", "add", "other_p", check=True)
        bid = self.started()
        self.assertIsNone(self.claim(pipelines=["other_p"]))
        self.assertEqual(self.claim(pipelines=["other_p", DEMO_PIPELINE])
                         ["backfill_id"], bid)

    def test_run_limit(self):
        for limit in ("2", 2):      # Mage's form sends a string
            with self.subTest(limit=limit):
                self.setUp()
                bid = self.started(settings={"pipeline_run_limit": limit})
                a, b = self.claim(), self.claim()
                self.assertEqual({a["backfill_id"], b["backfill_id"]}, {bid})
                self.assertIsNone(self.claim())     # two running: full
                self.assertEqual(self.report(a, status="completed").status,
                                 200)
                self.assertEqual(self.claim()["backfill_id"], bid)

    def test_claims_are_exclusive(self):
        bid = self.started("2023-01-01", "2023-01-30")
        got, lock = [], threading.Lock()

        def executor(n):
            while True:
                run = self.claim("exec-%d" % n)
                if run is None:
                    return
                with lock:
                    got.append(run["id"])
        ts = [threading.Thread(target=executor, args=(n,)) for n in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(len(got), 30)
        self.assertEqual(len(set(got)), 30)
        self.assertEqual({r["status"] for r in self.runs(bid)}, {"running"})

    def test_renewal_and_foreign_leases(self):
        bid = self.started()
        run = self.claim()
        time.sleep(1.1)
        r = self.report(run)                    # a renewal: lease only
        self.assertEqual(r.status, 200, r)
        self.assertGreater(r.json["pipeline_run"]["lease_expires_at"],
                           run["lease_expires_at"])
        self.assertEqual(r.json["pipeline_run"]["status"], "running")
        # another lease id, or none, may not report on it
        with self.unchanged():
            r = self.report(run, lease_id="x" * 32, status="completed")
            self.assertError(r, 409, "lease_lost")
            r = self.req("PUT", "/api/pipeline_runs/%d" % run["id"],
                         {"pipeline_run": {"status": "completed"}})
            self.assertError(r, 409, "lease_lost")
        # a user may still cancel it; its holder sees that on renewal
        r = self.req("PUT", "/api/pipeline_runs/%d" % run["id"],
                     {"pipeline_run": {"status": "cancelled"}})
        self.assertEqual(r.status, 200, r)
        r = self.report(run)
        self.assertEqual(r.json["pipeline_run"]["status"], "cancelled")
        r = self.report(run, status="cancelled",
                        metrics={"signal": "SIGTERM"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["pipeline_run"]["metrics"],
                         {"signal": "SIGTERM"})
        self.assertEqual(self.status(bid), "running")

    def test_report_with_metrics(self):
        self.started()
        run = self.claim()
        m = {"exit_code": 0, "duration_seconds": 1.5, "host": "h1"}
        r = self.report(run, status="completed", metrics=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["pipeline_run"]["metrics"], m)
        self.assertRecent(r.json["pipeline_run"]["completed_at"])
        # a repeated report (a retry after a lost answer) changes nothing
        r2 = self.report(run, status="completed", metrics=m)
        self.assertEqual(r2.status, 200, r2)
        for bad in ({"metrics": [1]}, {"lease_id": 5}):
            with self.unchanged():
                r = self.report(run, status="completed", **bad)
                self.assertInvalid(r, *bad.keys())

    def test_lapsed_lease_fails_the_run_and_a_late_report_is_refused(self):
        bid = self.started("2023-01-01", "2023-01-01")
        run = self.claim()
        time.sleep(LEASE + 0.5)
        # refused, and nothing of it lands (a worker may sweep the
        # lapsed run meanwhile, which is the point: failed, not completed)
        r = self.report(run, status="completed", metrics={"exit_code": 0})
        self.assertError(r, 409, "lease_lost")
        # the next claim sweeps (if no worker did between requests):
        # failed, the reason in its metrics, and the backfill follows
        self.assertIsNone(self.claim())
        (x,) = self.runs(bid)
        self.assertEqual(x["status"], "failed")
        self.assertNotIn("exit_code", x["metrics"])
        self.assertIn("lease lapsed", x["metrics"]["error"])
        self.assertEqual(x["metrics"]["executor"], "exec-1")
        self.assertEqual(self.status(bid), "failed")
        # a retry plans that date again
        self.put_ok(bid, {"status": "initial"})
        self.assertEqual(self.claim()["execution_date"],
                         "2023-01-01 00:00:00")

    def test_a_lapsed_lease_is_swept_without_claims(self):
        # no executor claims any more: the workers look between requests
        bid = self.started("2023-01-01", "2023-01-01")
        self.claim()
        time.sleep(LEASE + 0.5)
        deadline = time.monotonic() + LEASE
        while self.runs(bid)[0]["status"] == "running":
            self.assertLess(time.monotonic(), deadline,
                            "a lapsed lease not swept within a lease")
            time.sleep(0.2)
        self.assertEqual(self.runs(bid)[0]["status"], "failed")
        self.assertEqual(self.status(bid), "failed")

    def test_bad_claims(self):
        for body in ({"claim": {}}, {"claim": {"executor": ""}},
                     {"claim": {"executor": "e", "pipelines": "p"}},
                     {"claim": {"executor": "e", "pipelines": ["bad uuid"]}},
                     {"claim": {"executor": "e", "extra": 1}}):
            with self.subTest(body=body), self.unchanged():
                r = self.req("POST", "/api/pipeline_runs/claim", body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json["error"]["type"], "record_invalid")
        for body in ("{", "[]", '{"nope": {}}'):
            with self.subTest(body=body), self.unchanged():
                r = self.req("POST", "/api/pipeline_runs/claim", body)
                self.assertError(r, 400, "invalid_json")

    def test_viewer_may_not_claim(self):
        out = self.server.ctl("token", "issue", "--role", "viewer",
                              check=True).stdout.decode()
        tok = [ln.split()[1] for ln in out.splitlines()
               if ln.startswith("token:")][0]
        self.started()
        with self.unchanged():
            r = self.req("POST", "/api/pipeline_runs/claim",
                         {"claim": {"executor": "e"}},
                         headers={"Authorization": "Bearer " + tok,
                                  "Cookie": ""})
            self.assertError(r, 403, "unauthorized_access")


class TestRetries(ClaimsCase):
    EXTRA_CONF = "run_lease = %d\nretries = 1\nretry_delay = 2" % LEASE

    def test_conf_policy_retries_after_its_delay(self):
        bid = self.started("2023-01-01", "2023-01-01")
        run = self.claim()
        t0 = time.monotonic()
        self.assertEqual(self.report(run, status="failed").status, 200)
        # a new attempt of the date, not claimable before its delay
        runs = self.runs(bid)
        self.assertEqual([(x["attempt"], x["status"]) for x in runs],
                         [(2, "initial"), (1, "failed")])
        self.assertIsNotNone(runs[0]["not_before"])
        self.assertEqual(self.status(bid), "running")
        self.assertIsNone(self.claim())
        while (again := self.claim()) is None:
            time.sleep(0.2)
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        self.assertEqual((again["attempt"], again["execution_date"]),
                         (2, "2023-01-01 00:00:00"))
        # the attempts are spent: the date counts as failed
        self.assertEqual(self.report(again, status="failed").status, 200)
        self.assertEqual(self.status(bid), "failed")
        r = self.req("GET", "/api/backfills/%d?include_run_count=1" % bid)
        self.assertEqual(r.json["backfill"]["run_status_counts"],
                         {"failed": 1})

    def test_settings_policy_wins(self):
        bid = self.started("2023-01-01", "2023-01-01", settings={
            "retry_config": {"retries": 2, "delay": 0,
                             "exponential_backoff": False}})
        for attempt in (1, 2, 3):
            run = self.claim()
            self.assertEqual(run["attempt"], attempt)
            self.assertEqual(self.report(run, status="failed").status, 200)
        self.assertIsNone(self.claim())
        self.assertEqual(self.status(bid), "failed")
        self.assertEqual(len(self.runs(bid)), 3)

    def test_pipeline_policy(self):
        self.server.ctl("pipeline", "add", "retrying", "--retry-config",
                        '{"retries": 1, "delay": 0}', check=True)
        r = self.req("GET", "/api/pipelines/retrying")
        self.assertEqual(r.json["pipeline"]["retry_config"],
                         {"retries": 1, "delay": 0})
        rec = self.create(pipeline="retrying", start_datetime="2023-01-01",
                          end_datetime="2023-01-01", interval_type="day",
                          interval_units=1)
        self.put_ok(rec["id"], {"status": "initial"})
        run = self.claim()
        self.report(run, status="failed")
        self.assertEqual(self.claim()["attempt"], 2)


class TestNeverWaitsOnNothing(ClaimsCase):

    def test_runs_cancelled_one_by_one_fail_the_backfill(self):
        bid = self.started("2023-01-01", "2023-01-02")
        for x in self.runs(bid):
            r = self.req("PUT", "/api/pipeline_runs/%d" % x["id"],
                         {"pipeline_run": {"status": "cancelled"}})
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.status(bid), "failed")

    def test_a_start_with_every_date_done_completes(self):
        bid = self.started("2023-01-01", "2023-01-01")
        (x,) = self.runs(bid)
        for s in ("running", "completed"):
            self.req("PUT", "/api/pipeline_runs/%d" % x["id"],
                     {"pipeline_run": {"status": s}})
        self.assertEqual(self.status(bid), "completed")
        rec = self.put_ok(bid, {"status": "initial"})
        self.assertEqual(rec["status"], "completed")
        self.assertEqual(len(self.runs(bid)), 1)

    def test_started_plans_stay(self):
        bid = self.started()
        for change in ({"end_datetime": "2023-01-09"},
                       {"start_datetime": "2022-12-01"},
                       {"interval_units": 2}, {"interval_type": "hour"}):
            with self.subTest(change=change), self.unchanged():
                r = self.put(bid, change)
                self.assertError(r, 409, "invalid_transition")
                self.assertIn("cancel", r.json["error"]["message"])
        # other fields may change; after a cancel the plan too
        self.put_ok(bid, {"name": "renamed"})
        self.put_ok(bid, {"status": "cancelled"})
        self.put_ok(bid, {"end_datetime": "2023-01-09"})
