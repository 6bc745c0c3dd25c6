"""kill -9 of workers while executors claim, renew and report runs and
Mage's UI reads its frame routes (issue 14, item 12: the race and kill
tests cover the paths added since).

Four executors claim runs of one started backfill of 200 dates and
report each completed, renewing the lease first on every other run;
two readers poll what Mage's UI loads around its backfill pages
(statuses, projects, the pipeline, its variables, the git branch, the
backfill with its run counts, its runs). Workers are killed with
SIGKILL meanwhile (twelve). A claim whose answer was lost leaves a lease nobody
holds: it lapses (run_lease, 5 s), the run fails and the retry policy
plans its date again, which the executors then take. Afterwards:

- no run was handed to two claims, and no date completed twice;
- every run the database holds completed was reported by somebody, and
  every report answered 200 "completed" is completed in the database;
- the backfill completed: each date's latest attempt completed;
- every answer was a 2xx, a proper JSON error, nginx's JSON 503 for
  the killed worker's request, or a dropped connection; a refused
  report is the 409 of a lost lease, nothing else;
- the pool replaced each worker within 2 s."""

import os
import random
import signal
import sqlite3
import threading
import time

from common import (ACK, DOUBT, PIPELINE, PoolCase, error_problems,
                    outcome, proc_stat)

DATES = 200
WORK = 0.05           # seconds an executor "runs" each run
EXECUTORS = 4
READERS = 2
KILLS = 12
FRAME = ("/api/statuses", "/api/projects", "/api/pipelines/" + PIPELINE,
         "/api/pipelines/%s/variables" % PIPELINE,
         "/api/git_branches/main")


class TestClaimKill(PoolCase):
    WORKERS = 3
    # the shortest lease; retries enough for every lapsed one, at once
    EXTRA_CONF = ("run_lease = 5\nretries = 10\nretry_delay = 0\n"
                  "retry_exponential_backoff = off")

    def setUp(self):
        self.lock = threading.Lock()
        self.claims = []        # (run id, date, executor): acknowledged
        self.reported = set()   # run ids a completion was sent for
        self.completed = set()  # ... and answered 200 completed
        self.problems = []

    def note(self, what, r):
        """Records an answer that is neither acknowledged nor a clean
        refusal or doubt."""
        p = error_problems(r)
        if p:
            with self.lock:
                self.problems.append("%s: %s" % (what, p))

    def executor(self, k, done):
        name = "exec-%d" % k
        n = 0
        while not done.is_set():
            r = self.req("POST", "/api/pipeline_runs/claim",
                         {"claim": {"executor": name}})
            self.note("claim", r)
            if outcome(r) != ACK:
                time.sleep(0.05)
                continue
            run = r.json.get("pipeline_run")
            if run is None:         # nothing to claim now
                time.sleep(0.2)
                continue
            with self.lock:
                self.claims.append((run["id"], run["execution_date"], name))
            n += 1
            path = "/api/pipeline_runs/%d" % run["id"]
            lease = {"lease_id": run["lease_id"]}
            time.sleep(WORK)
            if n % 2 == 0:
                r = self.req("PUT", path, {"pipeline_run": lease})
                self.note("renew", r)
            body = {"pipeline_run": dict(lease, status="completed")}
            with self.lock:
                self.reported.add(run["id"])
            r = self.req("PUT", path, body)
            self.note("report", r)
            if outcome(r) == ACK:
                self.assertEqual(r.json["pipeline_run"]["status"],
                                 "completed")
                with self.lock:
                    self.completed.add(run["id"])
            elif outcome(r) != DOUBT:
                # a worker's own refusal: only a lease lost to the sweep
                if r.status != 409 or \
                        r.json["error"]["type"] != "lease_lost":
                    with self.lock:
                        self.problems.append("report refused: %r" % r)

    def reader(self, bid, done):
        paths = FRAME + ("/api/backfills/%d?include_run_count=true" % bid,
                         "/api/pipeline_runs?backfill_id=%d&_limit=40" % bid)
        while not done.is_set():
            for p in paths:
                r = self.req("GET", p)
                self.note("GET " + p, r)
                if r is not None and r.status != 200 and \
                        outcome(r) != DOUBT:
                    with self.lock:
                        self.problems.append("GET %s: %r" % (p, r))

    def busiest(self, pids):
        busy = [p for p in pids if (proc_stat(p) or ("S",))[0] in "RD"]
        return random.choice(busy or pids)

    def rows(self, bid):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                              timeout=10)
        try:
            return con.execute(
                "SELECT id, execution_date, status, attempt, latest "
                "FROM pipeline_run WHERE backfill_id = ?", (bid,)).fetchall()
        finally:
            con.close()

    def status(self, bid):
        r = self.req("GET", "/api/backfills/%d" % bid)
        return r.json["backfill"]["status"] if r is not None and \
            r.status == 200 else None

    def test_kill9_during_claims_and_frame_reads(self):
        bid = self.create(name="claim-kill", start_datetime="2022-01-01",
                          end_datetime="2022-07-19", interval_type="day",
                          interval_units=1)["id"]
        r = self.req("PUT", "/api/backfills/%d" % bid,
                     {"backfill": {"status": "initial"}})
        self.assertEqual(r.status, 200, r)
        done = threading.Event()
        ts = [threading.Thread(target=self.executor, args=(k, done))
              for k in range(EXECUTORS)]
        ts += [threading.Thread(target=self.reader, args=(bid, done))
               for _ in range(READERS)]
        for t in ts:
            t.start()
        replaced = []
        try:
            time.sleep(0.5)
            for _ in range(KILLS):
                pids, _ = self.wait_workers()
                victim = self.busiest(pids)
                os.kill(victim, signal.SIGKILL)
                _, took = self.wait_workers(gone=[victim], timeout=2.5)
                replaced.append(took)
                time.sleep(0.35 + random.random() * 0.2)
            # the executors finish the plan, lapsed leases included
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and \
                    self.status(bid) != "completed":
                time.sleep(0.5)
        finally:
            done.set()
            for t in ts:
                t.join(30)
        self.assertFalse(any(t.is_alive() for t in ts), "clients hung")
        self.assertLess(max(replaced), 2.0, "replaced in %r" % replaced)
        self.assertEqual(self.problems, [])

        ids = [c[0] for c in self.claims]
        self.assertEqual(len(ids), len(set(ids)), "a run claimed twice")
        rows = self.rows(bid)
        by_id = {r[0]: r for r in rows}
        done_ids = {r[0] for r in rows if r[2] == "completed"}
        self.assertLessEqual(done_ids, self.reported,
                             "completed without a report")
        self.assertLessEqual(self.completed, done_ids,
                             "a 200 completed that is not")
        dates = {}
        for r in rows:
            dates.setdefault(r[1], []).append(r)
        self.assertEqual(len(dates), DATES)
        for date, attempts in dates.items():
            latest = [a for a in attempts if a[4]]
            self.assertEqual(len(latest), 1, (date, attempts))
            self.assertEqual(latest[0][2], "completed", (date, attempts))
            self.assertEqual(sum(a[2] == "completed" for a in attempts), 1,
                             (date, attempts))
        self.assertEqual(self.status(bid), "completed")
        # How often a kill lost a claim's answer (its date then needed a
        # second attempt): printed, not asserted, as a kill may land
        # between requests.
        retried = sum(len(a) > 1 for a in dates.values())
        print("\n    %d claims, %d dates retried after a lost answer, "
              "workers replaced in %.2f s at most"
              % (len(ids), retried, max(replaced)), end=" ")
        self.assertTrue(all(by_id[i][2] == "completed" for i in
                            self.completed))
