"""Planned runs and pipeline runs (docs/API.md "Backfills", "The run
lifecycle", the status table; README "Backfill lifecycle and
executors"): the preview and its paging, the date arithmetic (both ends, month/year clamping, custom =
seconds), variables merged with the pipeline's, the max_runs bound,
starting writes the runs, the executor's reports moving the backfill,
retry, cancel, run counts on the list, and delete taking the runs along."""

from datetime import datetime, timedelta

from harness import ServerTestCase, DEMO_PIPELINE, FIELDS

STATUSES = ["initial", "running", "completed", "failed", "cancelled"]
RUN_FIELDS = {"id", "backfill_id", "pipeline_uuid", "execution_date",
              "status", "variables", "started_at", "completed_at",
              "created_at", "updated_at",
              # what Mage's runs table reads (no block runs or schedules)
              "metrics", "block_runs", "block_runs_count",
              "completed_block_runs_count", "event_variables",
              "executor_type", "passed_sla", "pipeline_schedule_id",
              "pipeline_schedule_name", "pipeline_schedule_token",
              "pipeline_schedule_type", "pipeline_tags", "pipeline_type",
              "repo_path",
              # the executor's
              "attempt", "not_before", "executor", "lease_expires_at"}
PLANNED_FIELDS = {"ds", "hr", "execution_date", "interval_start_datetime",
                  "interval_end_datetime", "interval_seconds",
                  "interval_start_datetime_previous", "variables"}


def d(s):
    """'YYYY-MM-DD[ HH:MM:SS]' -> datetime."""
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S" if " " in s
                             else "%Y-%m-%d")


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def sql(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S")


class RunsCase(ServerTestCase):

    def plan(self, start, end, itype, units, **extra):
        return self.create(start_datetime=start, end_datetime=end,
                           interval_type=itype, interval_units=units, **extra)

    def show_q(self, bid, query):
        r = self.req("GET", "/api/backfills/%d?%s" % (bid, query))
        self.assertEqual(r.status, 200, r)
        # docs/API.md "Backfills": with include_run_count, total_run_count
        # ...: the run fields belong inside {"backfill": {...}}, as on the list
        self.assertEqual(list(r.json.keys()), ["backfill"],
                         "run fields outside the record: %r" % r)
        rec = r.json["backfill"]
        self.assertEqual(list(rec.keys())[:len(FIELDS)], FIELDS, rec)
        return rec

    def preview(self, bid, limit=1000, offset=0):
        rec = self.show_q(bid, "include_preview_runs=true&_limit=%d&_offset=%d"
                          % (limit, offset))
        self.assertEqual(set(list(rec.keys())[len(FIELDS):]),
                         {"total_run_count", "run_status_counts",
                          "pipeline_run_dates"}, rec)
        return rec

    def planned_dates(self, bid):
        rec = self.preview(bid)
        dates = rec["pipeline_run_dates"]
        self.assertEqual(len(dates), rec["total_run_count"])
        return [r["execution_date"] for r in dates]

    def counts(self, bid):
        """(total_run_count, run_status_counts) as the list shows them
        (show's are checked by TestPreview and test_show_counts_match)."""
        r = self.req("GET", "/api/backfills?include_run_count=true"
                     "&_limit=1000")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["metadata"]["next"])
        (rec,) = [b for b in r.json["backfills"] if b["id"] == bid]
        self.assertEqual(list(rec.keys()), FIELDS + ["total_run_count",
                                                    "run_status_counts"])
        return rec["total_run_count"], rec["run_status_counts"]

    def runs(self, bid, query=""):
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&_limit=1000%s"
                     % (bid, query))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(list(r.json.keys()), ["pipeline_runs", "metadata"])
        runs = r.json["pipeline_runs"]
        self.assertEqual(r.json["metadata"],
                         {"count": len(runs), "next": False})
        for run in runs:
            self.assertEqual(set(run.keys()), RUN_FIELDS, run)
            self.assertEqual(run["backfill_id"], bid)
        # newest first, as Mage lists them (execution date, then id,
        # descending); the tests read them oldest first
        keys = [(run["execution_date"], run["id"]) for run in runs]
        self.assertEqual(keys, sorted(keys, reverse=True))
        return list(reversed(runs))

    def start(self, bid):
        rec = self.put_ok(bid, {"status": "initial"})
        self.assertEqual(rec["status"], "initial")
        return self.runs(bid)

    def report(self, run_id, status):
        return self.req("PUT", "/api/pipeline_runs/%d" % run_id,
                        {"pipeline_run": {"status": status}})

    def report_ok(self, run_id, status):
        r = self.report(run_id, status)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(list(r.json.keys()), ["pipeline_run"])
        run = r.json["pipeline_run"]
        self.assertEqual(set(run.keys()), RUN_FIELDS, run)
        self.assertEqual((run["id"], run["status"]), (run_id, status))
        return run

    def run_to(self, run_id, status):
        """initial -> running [-> completed|failed]."""
        run = self.report_ok(run_id, "running")
        if status != "running":
            run = self.report_ok(run_id, status)
        return run

    def latest(self, runs):
        """execution_date -> the latest attempt (highest id)."""
        out = {}
        for run in runs:
            if (run["execution_date"] not in out or
                    run["id"] > out[run["execution_date"]]["id"]):
                out[run["execution_date"]] = run
        return out

    def assertCounts(self, bid, total, **by_status):
        t, c = self.counts(bid)
        self.assertEqual(t, total)
        # as Mage's: only the statuses that occur
        self.assertEqual(c, {s: n for s, n in by_status.items() if n})


class TestPreview(RunsCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("pipeline", "add", "p2", "--variables",
                       '{"a":1,"b":2}', check=True)

    def test_preview_page(self):
        rec = self.plan("2023-07-01", "2023-07-31", "day", 1)
        out = self.preview(rec["id"], limit=5, offset=3)
        self.assertEqual(out["total_run_count"], 31)
        self.assertEqual(out["run_status_counts"], {})
        dates = out["pipeline_run_dates"]
        self.assertEqual(len(dates), 5)
        for i, run in enumerate(dates):
            day = datetime(2023, 7, 4 + i)
            self.assertEqual(set(run.keys()), PLANNED_FIELDS, run)
            self.assertEqual(run["ds"], day.strftime("%Y-%m-%d"))
            self.assertEqual(run["hr"], "00")
            self.assertEqual(run["execution_date"], iso(day))
            self.assertEqual(run["interval_start_datetime"], iso(day))
            self.assertEqual(run["interval_end_datetime"],
                             iso(day + timedelta(days=1)))
            self.assertEqual(run["interval_seconds"], 86400)
        # the record itself is unchanged by the flags
        plain = self.show(rec["id"])
        self.assertEqual({k: out[k] for k in FIELDS}, plain)

    def test_preview_paging_edges(self):
        rec = self.plan("2023-07-01", "2023-07-31", "day", 1)
        all_dates = self.planned_dates(rec["id"])
        self.assertEqual(len(all_dates), 31)
        for limit, offset in ((1, 0), (5, 0), (5, 26), (5, 27), (10, 30),
                              (3, 31), (3, 40), (31, 0), (40, 0)):
            with self.subTest(limit=limit, offset=offset):
                got = self.preview(rec["id"], limit, offset)
                got = [r["execution_date"]
                       for r in got["pipeline_run_dates"]]
                self.assertEqual(got, all_dates[offset:offset + limit])

    def test_run_count_flag_without_preview(self):
        rec = self.plan("2023-07-01", "2023-07-31", "day", 1)
        for flag in ("include_run_count=true", "include_run_count=1"):
            out = self.show_q(rec["id"], flag)
            self.assertEqual(list(out.keys()),
                             FIELDS + ["total_run_count",
                                       "run_status_counts"])
            self.assertEqual(out["total_run_count"], 31)
        out = self.show_q(rec["id"], "include_preview_runs=1&_limit=2")
        self.assertEqual(len(out["pipeline_run_dates"]), 2)
        # any value but empty and "false" is true, as Mage reads it
        for flag in ("include_run_count=True", "include_preview_runs=0"):
            out = self.show_q(rec["id"], flag)
            self.assertEqual(out["total_run_count"], 31)
        for flag in ("", "include_run_count=false",
                     "include_preview_runs=", "include_preview_runs=false"):
            self.assertEqual(list(self.show_q(rec["id"], flag).keys()),
                             FIELDS)

    def test_no_counts_without_a_full_plan(self):
        for fields in ({}, {"start_datetime": "2023-01-01",
                            "end_datetime": "2023-01-02",
                            "interval_type": "day"},
                       {"start_datetime": "2023-01-01",
                        "interval_type": "day", "interval_units": 1}):
            with self.subTest(fields=fields):
                rec = self.create(**fields)
                out = self.show_q(rec["id"], "include_preview_runs=true"
                                  "&include_run_count=true")
                self.assertEqual(list(out.keys()), FIELDS)

    def test_month_end_clamping(self):
        rec = self.plan("2024-01-31", "2024-04-30", "month", 1)
        self.assertEqual(self.planned_dates(rec["id"]),
                         ["2024-01-31T00:00:00", "2024-02-29T00:00:00",
                          "2024-03-31T00:00:00", "2024-04-30T00:00:00"])
        # the next one would be May 31, past a May 30 end
        rec = self.plan("2024-01-31", "2024-05-30", "month", 1)
        self.assertEqual(len(self.planned_dates(rec["id"])), 4)
        # a non-leap year, and steps of two months, keep the time of day
        rec = self.plan("2023-01-31 06:30:00", "2023-12-31 06:30:00",
                        "month", 2)
        self.assertEqual(self.planned_dates(rec["id"]),
                         ["2023-01-31T06:30:00", "2023-03-31T06:30:00",
                          "2023-05-31T06:30:00", "2023-07-31T06:30:00",
                          "2023-09-30T06:30:00", "2023-11-30T06:30:00"])
        # intervals follow the clamped dates
        dates = self.preview(self.plan("2024-01-31", "2024-04-30", "month",
                                       1)["id"])["pipeline_run_dates"]
        self.assertEqual([r["interval_end_datetime"] for r in dates[:3]],
                         ["2024-02-29T00:00:00", "2024-03-31T00:00:00",
                          "2024-04-30T00:00:00"])
        self.assertEqual([r["interval_seconds"] for r in dates[:3]],
                         [29 * 86400, 31 * 86400, 30 * 86400])

    def test_year_steps_from_leap_day(self):
        rec = self.plan("2024-02-29", "2028-02-29", "year", 1)
        self.assertEqual(self.planned_dates(rec["id"]),
                         ["2024-02-29T00:00:00", "2025-02-28T00:00:00",
                          "2026-02-28T00:00:00", "2027-02-28T00:00:00",
                          "2028-02-29T00:00:00"])
        rec = self.plan("2024-02-29", "2032-03-01", "year", 4)
        self.assertEqual(self.planned_dates(rec["id"]),
                         ["2024-02-29T00:00:00", "2028-02-29T00:00:00",
                          "2032-02-29T00:00:00"])

    def test_each_interval_type(self):
        start = datetime(2023, 3, 10, 1, 2, 3)
        for itype, step in (("second", timedelta(seconds=1)),
                            ("minute", timedelta(minutes=1)),
                            ("hour", timedelta(hours=1)),
                            ("day", timedelta(days=1)),
                            ("week", timedelta(weeks=1)),
                            ("custom", timedelta(seconds=1))):
            for units in (1, 3):
                with self.subTest(type=itype, units=units):
                    end = start + 4 * units * step
                    rec = self.plan(sql(start), sql(end), itype, units)
                    out = self.preview(rec["id"])
                    want = [start + k * units * step for k in range(5)]
                    got = out["pipeline_run_dates"]
                    self.assertEqual(out["total_run_count"], 5)
                    self.assertEqual([r["execution_date"] for r in got],
                                     [iso(w) for w in want])
                    self.assertEqual([r["ds"] for r in got],
                                     [w.strftime("%Y-%m-%d") for w in want])
                    self.assertEqual([r["hr"] for r in got],
                                     [w.strftime("%H") for w in want])
                    secs = int((units * step).total_seconds())
                    self.assertEqual([r["interval_seconds"] for r in got],
                                     [secs] * 5)
                    self.assertEqual(
                        [r["interval_end_datetime"] for r in got],
                        [iso(w + units * step) for w in want])

    def test_custom_is_seconds(self):
        a = self.plan("2023-01-01 00:00:00", "2023-01-01 00:01:00",
                      "custom", 15)
        b = self.plan("2023-01-01 00:00:00", "2023-01-01 00:01:00",
                      "second", 15)
        pa = self.preview(a["id"])["pipeline_run_dates"]
        self.assertEqual(pa, self.preview(b["id"])["pipeline_run_dates"])
        self.assertEqual([r["execution_date"] for r in pa],
                         ["2023-01-01T00:00:%02d" % s
                          for s in (0, 15, 30, 45)] +
                         ["2023-01-01T00:01:00"])
        self.assertEqual({r["interval_seconds"] for r in pa}, {15})
        c = self.plan("2023-01-01", "2023-01-02", "custom", 3600)
        self.assertEqual(self.preview(c["id"])["total_run_count"], 25)

    def test_both_ends_included(self):
        rec = self.plan("2023-01-01", "2023-01-03", "day", 1)
        self.assertEqual(self.planned_dates(rec["id"]),
                         ["2023-01-01T00:00:00", "2023-01-02T00:00:00",
                          "2023-01-03T00:00:00"])
        rec = self.plan("2023-01-01", "2023-01-03 12:00:00", "day", 1)
        self.assertEqual(len(self.planned_dates(rec["id"])), 3)
        rec = self.plan("2023-01-01", "2023-01-02 23:59:59", "day", 1)
        self.assertEqual(self.planned_dates(rec["id"]),
                         ["2023-01-01T00:00:00", "2023-01-02T00:00:00"])
        # the last run's interval ends one gap after it
        dates = self.preview(self.plan("2023-01-01", "2023-01-03", "day",
                                       1)["id"])["pipeline_run_dates"]
        self.assertEqual(dates[-1]["interval_start_datetime"],
                         "2023-01-03T00:00:00")
        self.assertEqual(dates[-1]["interval_end_datetime"],
                         "2023-01-04T00:00:00")

    def test_last_interval_is_previous_gap(self):
        # month plan: the last run (Apr 30) ends one previous gap (30 days,
        # Mar 31 -> Apr 30) later
        dates = self.preview(self.plan("2024-01-31", "2024-04-30", "month",
                                       1)["id"])["pipeline_run_dates"]
        self.assertEqual(dates[-1]["interval_end_datetime"],
                         "2024-05-30T00:00:00")

    def test_one_run_when_start_is_end(self):
        for itype in ("day", "month", "second"):
            with self.subTest(type=itype):
                rec = self.plan("2023-05-05 05:00:00", "2023-05-05 05:00:00",
                                itype, 1)
                out = self.preview(rec["id"])
                self.assertEqual(out["total_run_count"], 1)
                (run,) = out["pipeline_run_dates"]
                self.assertEqual(run["execution_date"], "2023-05-05T05:00:00")
                self.assertEqual(run["ds"], "2023-05-05")
                self.assertEqual(run["hr"], "05")
                self.assertEqual(run["interval_start_datetime"],
                                 "2023-05-05T05:00:00")
                self.assertIsNone(run["interval_end_datetime"])
        # a step larger than the range also gives one run
        rec = self.plan("2023-05-05", "2023-05-06", "week", 1)
        out = self.preview(rec["id"])
        self.assertEqual(out["total_run_count"], 1)
        self.assertIsNone(out["pipeline_run_dates"][0]
                          ["interval_end_datetime"])

    def test_variables_merged(self):
        rec = self.plan("2023-01-01", "2023-01-03", "day", 1,
                        pipeline="p2", variables={"b": 3})
        dates = self.preview(rec["id"])["pipeline_run_dates"]
        self.assertEqual(len(dates), 3)
        for run in dates:
            self.assertEqual(run["variables"], {"a": 1, "b": 3})
        runs = self.start(rec["id"])
        self.assertEqual(len(runs), 3)
        for run in runs:
            self.assertEqual(run["variables"], {"a": 1, "b": 3})
            self.assertEqual(run["pipeline_uuid"], "p2")
        # no backfill variables: the pipeline's; new keys are added
        rec = self.plan("2023-01-01", "2023-01-01", "day", 1, pipeline="p2")
        self.assertEqual(self.preview(rec["id"])["pipeline_run_dates"][0]
                         ["variables"], {"a": 1, "b": 2})
        rec = self.plan("2023-01-01", "2023-01-01", "day", 1, pipeline="p2",
                        variables={"c": "x", "a": None})
        self.assertEqual(self.preview(rec["id"])["pipeline_run_dates"][0]
                         ["variables"], {"a": None, "b": 2, "c": "x"})


class TestMaxRuns(RunsCase):
    EXTRA_CONF = "max_runs = 10"

    PLAN_FIELDS = ("start_datetime", "end_datetime", "interval_type",
                   "interval_units")

    def test_over_max_runs_on_create(self):
        with self.unchanged():
            r = self.req("POST", "/api/pipelines/%s/backfills"
                         % DEMO_PIPELINE, {"backfill": {
                             "start_datetime": "2023-01-01",
                             "end_datetime": "2023-01-11",
                             "interval_type": "day", "interval_units": 1}})
            self.assertInvalid(r, *self.PLAN_FIELDS)

    def test_exactly_max_runs_accepted(self):
        rec = self.plan("2023-01-01", "2023-01-10", "day", 1)
        self.assertEqual(self.counts(rec["id"])[0], 10)
        runs = self.start(rec["id"])
        self.assertEqual(len(runs), 10)
        rec = self.plan("2023-01-01 00:00:00", "2023-01-01 00:00:09",
                        "custom", 1)
        self.assertEqual(self.counts(rec["id"])[0], 10)

    def test_over_max_runs_on_update(self):
        rec = self.plan("2023-01-01", "2023-01-10", "day", 1)
        for patch in ({"end_datetime": "2023-01-11"},
                      {"start_datetime": "2022-12-31"},
                      {"interval_type": "hour"},
                      {"interval_units": 1, "interval_type": "second"},
                      {"status": "initial", "end_datetime": "2023-02-01"}):
            with self.subTest(patch=patch), self.unchanged():
                self.assertInvalid(self.put(rec["id"], patch),
                                   *self.PLAN_FIELDS)
        # completing a plan piece by piece
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2023-01-01 00:00:10")
        rec = self.put_ok(rec["id"], {"interval_type": "second"})
        with self.unchanged():
            self.assertInvalid(self.put(rec["id"], {"interval_units": 1}),
                               *self.PLAN_FIELDS)
        self.put_ok(rec["id"], {"interval_units": 2})


class TestLifecycle(RunsCase):
    """Start, the executor's reports, retry, cancel, list counts, delete."""

    def started(self, start="2023-01-01", end="2023-01-05", itype="day",
                units=1):
        rec = self.plan(start, end, itype, units)
        runs = self.start(rec["id"])
        return rec["id"], runs

    def test_start_writes_the_plan(self):
        rec = self.plan("2023-07-01", "2023-07-31", "day", 1)
        self.assertEqual(self.runs(rec["id"]), [])
        planned = self.preview(rec["id"])["pipeline_run_dates"]
        runs = self.start(rec["id"])
        self.assertEqual(len(runs), len(planned))
        self.assertEqual(len(runs), 31)
        self.assertEqual([d(r["execution_date"].replace("T", " "))
                          for r in runs],
                         [d(p["execution_date"].replace("T", " "))
                          for p in planned])
        # response datetimes: "YYYY-MM-DD HH:MM:SS" (docs/API.md,
        # "Requests and answers")
        self.assertEqual(runs[0]["execution_date"], "2023-07-01 00:00:00")
        self.assertEqual(runs[-1]["execution_date"], "2023-07-31 00:00:00")
        for run in runs:
            self.assertEqual(run["status"], "initial")
            self.assertEqual(run["pipeline_uuid"], DEMO_PIPELINE)
            self.assertIsNone(run["started_at"])
            self.assertIsNone(run["completed_at"])
            self.assertRecent(run["created_at"])
            self.assertRecent(run["updated_at"])
        ids = [r["id"] for r in runs]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertAssertOrdered(runs)
        self.assertCounts(rec["id"], 31, initial=31)
        # each run shows alone as listed
        r = self.req("GET", "/api/pipeline_runs/%d" % runs[4]["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"pipeline_run": runs[4]})

    def assertAssertOrdered(self, runs):
        keys = [(r["execution_date"], r["id"]) for r in runs]
        self.assertEqual(keys, sorted(keys))

    def test_show_counts_match(self):
        bid, runs = self.started("2023-01-01", "2023-01-04")
        self.run_to(runs[0]["id"], "completed")
        self.run_to(runs[1]["id"], "failed")
        self.run_to(runs[2]["id"], "running")
        want = dict(initial=1, running=1, completed=1, failed=1)
        self.assertEqual(self.counts(bid), (4, want))
        for q in ("include_run_count=true", "include_preview_runs=true"):
            rec = self.show_q(bid, q)
            self.assertEqual((rec["total_run_count"],
                              rec["run_status_counts"]), (4, want))

    def test_runs_paginated(self):
        bid, runs = self.started("2023-07-01", "2023-07-31")
        got = []
        offset = 0
        while True:
            r = self.req("GET", "/api/pipeline_runs?backfill_id=%d"
                         "&_limit=7&_offset=%d" % (bid, offset))
            self.assertEqual(r.status, 200, r)
            page = r.json["pipeline_runs"]
            more = offset + 7 < 31
            self.assertEqual(r.json["metadata"], {"count": 31, "next": more})
            self.assertEqual(len(page), min(7, 31 - offset))
            got += page
            if not more:
                break
            offset += 7
        self.assertEqual(got, list(reversed(runs)))
        # past the end: no rows, the count all the same
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&_offset=31"
                     % bid)
        self.assertEqual(r.json["pipeline_runs"], [])
        self.assertEqual(r.json["metadata"], {"count": 31, "next": False})
        # a filter by status
        self.run_to(runs[2]["id"], "running")
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&status=running"
                     % bid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["id"] for x in r.json["pipeline_runs"]],
                         [runs[2]["id"]])
        self.assertEqual(r.json["metadata"], {"count": 1, "next": False})
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&status=initial"
                     "&_limit=5" % bid)
        self.assertEqual(r.json["metadata"], {"count": 30, "next": True})
        self.assertNotIn(runs[2]["id"],
                         [x["id"] for x in r.json["pipeline_runs"]])

    def test_runs_of_another_backfill_not_listed(self):
        a, ra = self.started("2023-01-01", "2023-01-03")
        b, rb = self.started("2023-01-01", "2023-01-04")
        self.assertEqual(len(self.runs(a)), 3)
        self.assertEqual(len(self.runs(b)), 4)
        self.assertFalse({r["id"] for r in ra} & {r["id"] for r in rb})

    def test_initial_needs_the_plan_fields(self):
        for fields in ({}, {"start_datetime": "2023-01-01",
                            "end_datetime": "2023-01-02"},
                       {"start_datetime": "2023-01-01",
                        "end_datetime": "2023-01-02",
                        "interval_type": "day"}):
            with self.subTest(fields=fields):
                rec = self.create(**fields)
                with self.unchanged():
                    r = self.put(rec["id"], {"status": "initial"})
                    self.assertInvalid(r, *[f for f in (
                        "start_datetime", "end_datetime", "interval_type",
                        "interval_units") if f not in fields])
                self.assertIsNone(self.show(rec["id"])["status"])
                self.assertEqual(self.runs(rec["id"]), [])

    def test_first_run_running_moves_backfill(self):
        bid, runs = self.started()
        before = self.show(bid)
        run = self.report_ok(runs[0]["id"], "running")
        self.assertIsNotNone(run["started_at"])
        self.assertRecent(run["started_at"])
        after = self.show(bid)
        self.assertEqual(after["status"], "running")
        self.assertEqual(after["started_at"], before["started_at"])
        # a second run running: still running
        self.report_ok(runs[1]["id"], "running")
        self.assertEqual(self.show(bid)["status"], "running")
        self.assertCounts(bid, 5, initial=3, running=2)

    def test_all_completed_completes_backfill(self):
        bid, runs = self.started()
        for i, run in enumerate(runs):
            out = self.run_to(run["id"], "completed")
            self.assertIsNotNone(out["completed_at"])
            rec = self.show(bid)
            if i < len(runs) - 1:
                self.assertEqual(rec["status"], "running")
                self.assertIsNone(rec["completed_at"])
        rec = self.show(bid)
        self.assertEqual(rec["status"], "completed")
        self.assertRecent(rec["completed_at"])
        self.assertIsNone(rec["failed_at"])
        self.assertCounts(bid, 5, completed=5)

    def test_one_failed_fails_backfill(self):
        bid, runs = self.started()
        # a failure while others are pending: the backfill keeps running
        self.run_to(runs[1]["id"], "failed")
        rec = self.show(bid)
        self.assertEqual(rec["status"], "running")
        self.assertIsNone(rec["failed_at"])
        for run in runs[:1] + runs[2:]:
            self.run_to(run["id"], "completed")
        rec = self.show(bid)
        self.assertEqual(rec["status"], "failed")
        self.assertRecent(rec["failed_at"])
        self.assertIsNone(rec["completed_at"])
        self.assertCounts(bid, 5, completed=4, failed=1)

    def test_last_run_failing_fails_backfill(self):
        bid, runs = self.started("2023-01-01", "2023-01-03")
        self.run_to(runs[0]["id"], "completed")
        self.run_to(runs[1]["id"], "completed")
        self.run_to(runs[2]["id"], "failed")
        rec = self.show(bid)
        self.assertEqual(rec["status"], "failed")
        self.assertRecent(rec["failed_at"])

    def test_forbidden_run_moves(self):
        bid, runs = self.started()
        a, b, c, e = (runs[0]["id"], runs[1]["id"], runs[2]["id"],
                      runs[3]["id"])
        self.run_to(b, "completed")
        self.run_to(c, "failed")
        for run_id, to in ((a, "completed"), (a, "failed"),
                           (b, "running"), (b, "failed"), (b, "initial"),
                           (c, "running"), (c, "completed"),
                           (c, "initial")):
            with self.subTest(run=run_id, to=to), self.unchanged():
                self.assertError(self.report(run_id, to), 409,
                                 "invalid_transition")
        self.run_to(e, "running")
        with self.unchanged():
            self.assertError(self.report(e, "initial"), 409,
                             "invalid_transition")
        self.assertEqual(self.show(bid)["status"], "running")

    def test_run_report_errors(self):
        bid, runs = self.started("2023-01-01", "2023-01-02")
        with self.unchanged():
            self.assertError(self.report(999999, "running"), 404,
                             "record_not_found")
            r = self.req("GET", "/api/pipeline_runs/999999")
            self.assertError(r, 404, "record_not_found")
            self.assertInvalid(self.report(runs[0]["id"], "bogus"), "status")

    def test_retry_adds_attempts_only_where_needed(self):
        bid, runs = self.started()
        self.assertEqual(len(runs), 5)
        self.run_to(runs[0]["id"], "completed")
        self.run_to(runs[1]["id"], "failed")
        for run in runs[2:]:
            self.run_to(run["id"], "completed")
        self.assertEqual(self.show(bid)["status"], "failed")
        self.put_ok(bid, {"status": "initial"})
        after = self.runs(bid)
        self.assertEqual(len(after), 6)
        self.assertAssertOrdered(after)
        old = {r["id"]: r for r in after if r["id"] in
               {x["id"] for x in runs}}
        self.assertEqual(len(old), 5)
        new = [r for r in after if r["id"] not in old]
        self.assertEqual(len(new), 1)
        self.assertEqual(new[0]["execution_date"], runs[1]["execution_date"])
        self.assertEqual(new[0]["status"], "initial")
        self.assertEqual(old[runs[1]["id"]]["status"], "failed")
        self.assertCounts(bid, 5, completed=4, initial=1)
        # the new attempt completing completes the backfill
        self.run_to(new[0]["id"], "completed")
        rec = self.show(bid)
        self.assertEqual(rec["status"], "completed")
        self.assertRecent(rec["completed_at"])
        self.assertIsNone(rec["failed_at"])
        # a retry of a completed backfill plans nothing new
        self.put_ok(bid, {"status": "initial"})
        self.assertEqual(len(self.runs(bid)), 6)

    def test_retry_supersedes_unfinished_attempts(self):
        bid, runs = self.started("2023-01-01", "2023-01-03")
        self.run_to(runs[0]["id"], "completed")
        self.assertEqual(self.show(bid)["status"], "running")
        self.put_ok(bid, {"status": "failed"})
        self.assertEqual([r["status"] for r in self.runs(bid)],
                         ["completed", "initial", "initial"])
        self.put_ok(bid, {"status": "initial"})
        after = self.runs(bid)
        self.assertEqual(len(after), 5)
        latest = self.latest(after)
        self.assertEqual([latest[k]["status"] for k in sorted(latest)],
                         ["completed", "initial", "initial"])
        # never two unfinished attempts of one date
        for date in latest:
            unfinished = [r for r in after if r["execution_date"] == date
                          and r["status"] in ("initial", "running")]
            self.assertLessEqual(len(unfinished), 1, after)
        self.assertCounts(bid, 3, completed=1, initial=2)

    def test_cancel_marks_unfinished_runs(self):
        bid, runs = self.started()
        self.run_to(runs[0]["id"], "completed")
        self.run_to(runs[1]["id"], "running")
        self.run_to(runs[2]["id"], "failed")
        rec = self.put_ok(bid, {"status": "cancelled"})
        self.assertEqual(rec["status"], "cancelled")
        self.assertEqual([r["status"] for r in self.runs(bid)],
                         ["completed", "cancelled", "failed", "cancelled",
                          "cancelled"])
        self.assertCounts(bid, 5, completed=1, failed=1, cancelled=3)
        # an executor reporting on a cancelled run is refused
        for run in runs[1:2] + runs[3:]:
            with self.unchanged():
                self.assertError(self.report(run["id"], "running"), 409,
                                 "invalid_transition")
                self.assertError(self.report(run["id"], "completed"), 409,
                                 "invalid_transition")
        self.assertEqual(self.show(bid)["status"], "cancelled")
        # retry after cancel: new attempts for the four not completed
        self.put_ok(bid, {"status": "initial"})
        self.assertEqual(len(self.runs(bid)), 9)
        self.assertCounts(bid, 5, completed=1, initial=4)

    def test_cancel_from_initial_and_failed(self):
        bid, runs = self.started("2023-01-01", "2023-01-03")
        self.put_ok(bid, {"status": "cancelled"})
        self.assertEqual({r["status"] for r in self.runs(bid)},
                         {"cancelled"})
        bid, runs = self.started("2023-01-01", "2023-01-03")
        self.put_ok(bid, {"status": "failed"})
        self.put_ok(bid, {"status": "cancelled"})
        self.assertEqual({r["status"] for r in self.runs(bid)},
                         {"cancelled"})

    def test_list_include_run_count(self):
        bid, runs = self.started("2023-01-01", "2023-01-04")
        self.run_to(runs[0]["id"], "running")
        planned = self.plan("2023-01-01", "2023-01-02", "hour", 6)["id"]
        bare = self.create(name="no plan")["id"]
        r = self.req("GET", "/api/backfills?include_run_count=true"
                     "&_limit=1000")
        self.assertEqual(r.status, 200, r)
        by_id = {b["id"]: b for b in r.json["backfills"]}
        self.assertEqual(list(by_id[bid].keys()),
                         FIELDS + ["total_run_count", "run_status_counts"])
        self.assertEqual(by_id[bid]["total_run_count"], 4)
        self.assertEqual(by_id[bid]["run_status_counts"],
                         {"initial": 3, "running": 1})
        self.assertEqual(by_id[planned]["total_run_count"], 5)
        self.assertEqual(by_id[planned]["run_status_counts"], {})
        self.assertEqual(list(by_id[bare].keys()), FIELDS)
        for b in r.json["backfills"]:
            plan = all(b[f] is not None for f in (
                "start_datetime", "end_datetime", "interval_type",
                "interval_units"))
            self.assertEqual("total_run_count" in b, plan, b)
            self.assertEqual("run_status_counts" in b, plan, b)
        # nested list too; without the flag, nothing extra
        r = self.req("GET", "/api/pipelines/%s/backfills?include_run_count=1"
                     "&_limit=1000" % DEMO_PIPELINE)
        self.assertEqual({b["id"]: b for b in r.json["backfills"]}[bid]
                         ["total_run_count"], 4)
        r = self.req("GET", "/api/backfills?_limit=1000")
        for b in r.json["backfills"]:
            self.assertEqual(list(b.keys()), FIELDS)

    def test_delete_removes_runs(self):
        bid, runs = self.started("2023-01-01", "2023-01-03")
        self.run_to(runs[0]["id"], "running")
        other, oruns = self.started("2023-01-01", "2023-01-02")
        r = self.req("DELETE", "/api/backfills/%d" % bid)
        self.assertEqual(r.status, 200, r)
        for run in runs:
            r = self.req("GET", "/api/pipeline_runs/%d" % run["id"])
            self.assertError(r, 404, "record_not_found")
            with self.unchanged():
                self.assertError(self.report(run["id"], "completed"), 404,
                                 "record_not_found")
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d" % bid)
        if r.status == 200:
            self.assertEqual(r.json["pipeline_runs"], [])
            self.assertEqual(r.json["metadata"]["count"], 0)
        else:
            self.assertError(r, 404, "record_not_found")
        # the other backfill's runs are untouched
        self.assertEqual(self.runs(other), oruns)


if __name__ == "__main__":
    import unittest
    unittest.main()


class TestYear9999(RunsCase):
    """Plans at the end of the representable range: every interval end
    is a datetime or null, never an empty string, and a plan whose last
    interval would end past 9999-12-31 is refused by name."""

    def test_ends_are_datetimes_or_null(self):
        rec = self.plan("9999-12-29", "9999-12-30", "day", 1)
        rows = self.preview(rec["id"])["pipeline_run_dates"]
        self.assertEqual([r["interval_end_datetime"] for r in rows],
                         ["9999-12-30T00:00:00", "9999-12-31T00:00:00"])
        # one run: no interval at all
        rec = self.plan("9999-12-31 23:59:59", "9999-12-31 23:59:59",
                        "second", 1)
        (row,) = self.preview(rec["id"])["pipeline_run_dates"]
        self.assertIsNone(row["interval_end_datetime"])
        self.assertIsNone(row["interval_seconds"])

    def test_plans_leaving_the_range_refused(self):
        for start, end, itype in (("9999-12-30", "9999-12-31", "day"),
                                  ("9999-10-31", "9999-12-31", "month"),
                                  ("9998-06-01", "9999-06-01", "year"),
                                  ("9999-12-31 23:59:58",
                                   "9999-12-31 23:59:59", "second")):
            with self.subTest(start=start, itype=itype), self.unchanged():
                r = self.req("POST", "/api/pipelines/%s/backfills"
                             % DEMO_PIPELINE, {"backfill": {
                                 "start_datetime": start,
                                 "end_datetime": end, "interval_type": itype,
                                 "interval_units": 1}})
                self.assertInvalid(r, "start_datetime", "end_datetime",
                                   "interval_type", "interval_units")
                self.assertIn("9999", r.json["error"]["errors"][0]["message"])
