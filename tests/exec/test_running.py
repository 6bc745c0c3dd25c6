"""Running runs (README "backfills-exec"): every date once at the
concurrency asked and never past the backfill's pipeline_run_limit; the
run's facts in the environment only; failures, then a retry of only the
failed dates; a timeout; a cancel reaching the commands; SIGTERM to the
executor. What ran is read from the file the commands write (job.sh)."""

import json
import os
import signal
import time

from common import ExecCase, PIPELINE, alive, wait_for


class TestDaily(ExecCase):

    def check_all_once(self, bid, days, secs):
        self.assertEqual(self.status(bid), "completed", self.runs(bid))
        started = self.truth.dates_started()
        self.assertEqual(len(started), days, started)
        self.assertEqual(set(started.values()), {1}, started)
        runs = self.runs(bid)
        self.assertEqual(len(runs), days)
        for r in runs:
            self.assertEqual(r["status"], "completed", r)
            m = r["metrics"]
            self.assertEqual((m["exit_code"], m["signal"], m["reason"]),
                             (0, None, "exited"), m)
            self.assertEqual(m["host"], os.uname().nodename)
            self.assertGreaterEqual(m["duration_seconds"], secs)
            self.assertTrue(os.path.isfile(m["log"]), m)
        return runs

    def test_20_days_4_at_once(self):
        bid = self.backfill(20)
        ex = self.executor(command=("0.5",), once=True, concurrency=4)
        self.assertEqual(ex.start().wait(120), 0, ex.log())
        self.check_all_once(bid, 20, 0.5)
        # 4 at once, and never more
        self.assertEqual(self.truth.max_at_once(), 4)
        log = ex.log()
        for word in ("claimed run", "started: pid", "finished: completed",
                     "reported completed", "exiting: nothing to claim"):
            self.assertIn(word, log)

    def test_run_limit_2(self):
        bid = self.backfill(12, settings={"pipeline_run_limit": 2})
        ex = self.executor(command=("0.4",), once=True, concurrency=4)
        self.assertEqual(ex.start().wait(120), 0, ex.log())
        self.check_all_once(bid, 12, 0.4)
        self.assertEqual(self.truth.max_at_once(), 2)

    def test_oldest_first_one_at_a_time(self):
        bid = self.backfill(5, start="2024-02-27")
        ex = self.executor(command=("0.1",), once=True)
        self.assertEqual(ex.start().wait(60), 0, ex.log())
        self.check_all_once(bid, 5, 0.1)
        self.assertEqual([e[1] for e in self.truth.starts()],
                         ["2024-02-27", "2024-02-28", "2024-02-29",
                          "2024-03-01", "2024-03-02"])


PLAN_20231231 = {
    "ds": "2023-12-31", "hr": "00", "execution_date": "2023-12-31T00:00:00",
    "interval_start_datetime": "2023-12-31T00:00:00",
    "interval_end_datetime": "2024-01-01T00:00:00",
    "interval_seconds": 86400,
    "interval_start_datetime_previous": "2023-12-30T00:00:00"}


class TestEnvironment(ExecCase):

    def test_facts_in_the_environment_only(self):
        """Shell syntax in the backfill's name and variables stays data:
        the command sees it in its environment, nothing runs it."""
        canary = os.path.join(self.tmp, "pwned")
        name = "x'; touch %s; '$(touch %s)" % (canary, canary)
        variables = {"who": "$(touch %s)" % canary, "n": 3,
                     "q": "a \"quoted\" `word`", "ds": "not the plan's"}
        bid = self.backfill(2, start="2023-12-31", name=name,
                            variables=variables)
        ex = self.executor(command=("0", "env"), once=True)
        self.assertEqual(ex.start().wait(60), 0, ex.log())
        self.assertEqual(self.status(bid), "completed")
        self.assertFalse(os.path.exists(canary))
        runs = self.runs(bid)
        first = runs[0]
        with open(first["metrics"]["log"]) as f:
            text = f.read()
        env = dict(line.split("=", 1) for line in text.splitlines()
                   if "=" in line)
        # as in Mage's backfill runs: the run's variables, the plan's
        # keys over them
        self.assertEqual(first["variables"]["who"], variables["who"])
        want_vars = dict(first["variables"], **PLAN_20231231)
        self.assertEqual(json.loads(env["VARIABLES"]), want_vars)
        self.assertEqual(env["BACKFILL_ID"], str(bid))
        self.assertEqual(env["BACKFILL_NAME"], name)
        self.assertEqual(env["PIPELINE_UUID"], PIPELINE)
        self.assertEqual(env["PIPELINE_RUN_ID"], str(first["id"]))
        self.assertEqual(env["PIPELINE_RUN_ATTEMPT"], "1")
        self.assertEqual(env["EXECUTION_DATE"], "2023-12-31T00:00:00")
        self.assertEqual(env["DS"], "2023-12-31")
        self.assertEqual(env["HR"], "00")
        self.assertEqual(env["INTERVAL_START_DATETIME"],
                         "2023-12-31T00:00:00")
        self.assertEqual(env["INTERVAL_END_DATETIME"], "2024-01-01T00:00:00")
        self.assertEqual(env["INTERVAL_SECONDS"], "86400")
        # stderr goes to the same file
        self.assertIn("to stderr", text)
        # one file per attempt, named after the backfill, date and run
        self.assertEqual(os.path.basename(first["metrics"]["log"]),
                         "bf%d-20231231T000000-run%d.log"
                         % (bid, first["id"]))

    def test_null_variables_leave_the_plans_keys(self):
        r = self.req("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                     {"backfill": {"start_datetime": "2023-01-01",
                                   "end_datetime": "2023-01-01",
                                   "interval_type": "day",
                                   "interval_units": 1}})
        self.assertEqual(r.status, 201, r)
        bid = r.json["backfill"]["id"]
        self.set_status(bid, "initial")
        ex = self.executor(command=("0", "env"), once=True)
        self.assertEqual(ex.start().wait(60), 0, ex.log())
        (run,) = self.runs(bid)
        self.assertIsNone(run["variables"])
        with open(run["metrics"]["log"]) as f:
            text = f.read()
        env = dict(line.split("=", 1) for line in text.splitlines()
                   if "=" in line)
        self.assertEqual(json.loads(env["VARIABLES"]), {
            "ds": "2023-01-01", "hr": "00",
            "execution_date": "2023-01-01T00:00:00",
            "interval_start_datetime": "2023-01-01T00:00:00",
            # a plan of one run: no interval (as Mage plans it)
            "interval_end_datetime": None, "interval_seconds": None,
            "interval_start_datetime_previous": None})
        self.assertIn("BACKFILL_NAME=\n", text)


class TestFailures(ExecCase):

    def test_failed_dates_then_retry_runs_only_those(self):
        bad = ["2023-07-03", "2023-07-06", "2023-07-07"]
        bid = self.backfill(8)
        ex = self.executor(command=("0.1", "failfirst=" + ",".join(bad)),
                           once=True, concurrency=2)
        self.assertEqual(ex.start().wait(60), 0, ex.log())
        self.assertEqual(self.status(bid), "failed")
        by_date = {r["execution_date"][:10]: r for r in self.runs(bid)}
        for ds, r in by_date.items():
            self.assertEqual(r["status"], "failed" if ds in bad else
                             "completed", r)
            if ds in bad:
                self.assertEqual((r["metrics"]["exit_code"],
                                  r["metrics"]["reason"]), (1, "exit_code"))
        first = len(self.truth.starts())
        self.assertEqual(first, 8)
        # the retry: only the failed dates run again, then completed
        self.set_status(bid, "initial")
        ex2 = self.executor(command=("0.1", "failfirst=" + ",".join(bad)),
                            once=True, concurrency=2)
        self.assertEqual(ex2.start().wait(60), 0, ex2.log())
        self.assertEqual(self.status(bid), "completed", self.runs(bid))
        again = [e[1] for e in self.truth.starts()[first:]]
        self.assertEqual(sorted(again), bad)

    def test_timeout_kills_and_fails(self):
        bid = self.backfill(1)
        ex = self.executor({PIPELINE: {"command": self.job("30"),
                                       "timeout": "1s"}},
                           once=True, timeout="1h")
        t0 = time.monotonic()
        self.assertEqual(ex.start().wait(30), 0, ex.log())
        self.assertLess(time.monotonic() - t0, 10)
        (start,) = self.truth.starts()
        self.assertFalse(alive(start[2]))
        self.assertEqual(self.truth.events("end"), [])
        (run,) = self.runs(bid)
        self.assertEqual(run["status"], "failed")
        m = run["metrics"]
        self.assertEqual(m["reason"], "timeout", m)
        self.assertEqual(m["timeout_seconds"], 1)
        self.assertEqual((m["signal"], m["signal_name"]), (15, "SIGTERM"))
        self.assertGreaterEqual(m["duration_seconds"], 1)
        self.assertLess(m["duration_seconds"], 3)
        self.assertIn("past its timeout", ex.log())
        self.assertEqual(self.status(bid), "failed")

    def test_timeout_then_sigkill_after_the_grace(self):
        """A command that ignores SIGTERM gets SIGKILL kill_grace later."""
        bid = self.backfill(1)
        ex = self.executor({PIPELINE: {"command": "trap '' TERM; echo "
                                       "start $DS $$ 0 >> %s; sleep 30"
                                       % self.truth.path}},
                           once=True, timeout="1s", kill_grace="1s")
        self.assertEqual(ex.start().wait(30), 0, ex.log())
        (run,) = self.runs(bid)
        m = run["metrics"]
        self.assertEqual((run["status"], m["reason"], m["signal_name"]),
                         ("failed", "timeout", "SIGKILL"), m)
        self.assertGreaterEqual(m["duration_seconds"], 2)
        self.assertIn("SIGKILL to process group", ex.log())
        (start,) = self.truth.starts()
        self.assertFalse(alive(start[2]))


class TestCancel(ExecCase):

    def test_cancel_reaches_every_command(self):
        bid = self.backfill(5)
        ex = self.executor(command=("30", "trap"), concurrency=3,
                           poll_interval="500ms", kill_grace="5s")
        ex.start()
        wait_for(lambda: len(self.truth.starts()) == 3, 20)
        t_cancel = time.time()
        self.set_status(bid, "cancelled")
        wait_for(lambda: len(self.truth.events("term")) == 3, 10)
        terms = self.truth.events("term")
        # each command's group got SIGTERM within about one poll
        for e in terms:
            self.assertLess(e[3] - t_cancel, 2.5, terms)
        self.assertEqual({e[2] for e in terms},
                         {e[2] for e in self.truth.starts()})
        wait_for(lambda: all(r["metrics"] for r in self.runs(bid)
                             if r["status"] == "cancelled" and
                             r["started_at"]), 10)
        runs = self.runs(bid)
        self.assertEqual(sorted(r["status"] for r in runs),
                         ["cancelled"] * 5)
        ran = [r for r in runs if r["started_at"]]
        self.assertEqual(len(ran), 3)
        for r in ran:
            # (sh -c dies of the SIGTERM; job.sh, in its group, traps it)
            self.assertEqual(r["metrics"]["reason"], "cancelled", r)
        self.assertEqual(self.status(bid), "cancelled")
        self.assertEqual(ex.stop(), 0, ex.log())
        self.assertIn("cancelled: SIGTERM to its process group", ex.log())

    def test_cancel_of_one_run(self):
        bid = self.backfill(2)
        ex = self.executor(command=("30", "trap"), concurrency=2)
        ex.start()
        wait_for(lambda: len(self.truth.starts()) == 2, 20)
        run = self.runs(bid)[0]
        r = self.req("PUT", "/api/pipeline_runs/%d" % run["id"],
                     {"pipeline_run": {"status": "cancelled"}})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.truth.events("term"), 10)
        (term,) = self.truth.events("term")
        self.assertEqual(term[1], run["execution_date"][:10])
        # the other keeps running
        time.sleep(1)
        self.assertEqual(len(self.truth.events("term")), 1)
        self.assertEqual(ex.stop(), 0)


class TestStop(ExecCase):

    def test_sigterm_lets_commands_finish(self):
        bid = self.backfill(4)
        ex = self.executor(command=("1.5",), concurrency=2,
                           kill_grace="10s")
        ex.start()
        wait_for(lambda: len(self.truth.starts()) == 2, 20)
        t0 = time.monotonic()
        ex.proc.send_signal(signal.SIGTERM)
        self.assertEqual(ex.wait(20), 0, ex.log())
        self.assertLess(time.monotonic() - t0, 5)
        # the two running finished and were reported; nothing more claimed
        self.assertEqual(len(self.truth.starts()), 2)
        self.assertEqual(len(self.truth.events("end")), 2)
        done = [r for r in self.runs(bid) if r["status"] == "completed"]
        self.assertEqual(len(done), 2)
        self.assertEqual(self.status(bid), "running")
        self.assertIn("claiming nothing more", ex.log())

    def test_sigterm_kills_what_outlives_the_grace(self):
        bid = self.backfill(2)
        ex = self.executor(command=("30", "trap"), concurrency=2,
                           kill_grace="1s")
        ex.start()
        wait_for(lambda: len(self.truth.starts()) == 2, 20)
        t0 = time.monotonic()
        ex.proc.send_signal(signal.SIGTERM)
        self.assertEqual(ex.wait(20), 0, ex.log())
        self.assertLess(time.monotonic() - t0, 6)
        self.assertEqual(len(self.truth.events("term")), 2)
        for e in self.truth.starts():
            self.assertFalse(alive(e[2]))
        for r in self.runs(bid):
            self.assertEqual(r["status"], "failed", r)
            self.assertEqual(r["metrics"]["reason"], "executor_stopped")
        self.assertEqual(self.status(bid), "failed")
