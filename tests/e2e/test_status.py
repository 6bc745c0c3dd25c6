"""The status machine of docs/API.md "Backfills": every transition from
every state, effects on started_at / completed_at / failed_at, retry,
requirements of `initial`, 409 and record_invalid leaving nothing changed."""

import time

from harness import ServerTestCase, parse_dt

STATES = [None, "initial", "running", "completed", "failed", "cancelled"]
ALLOWED = {
    None: {"initial"},
    "initial": {"running", "failed", "cancelled"},
    "running": {"completed", "failed", "cancelled"},
    "completed": {"initial"},
    "failed": {"initial", "cancelled"},
    "cancelled": {"initial"},
}
PATH_TO = {
    None: [],
    "initial": ["initial"],
    "running": ["initial", "running"],
    "completed": ["initial", "running", "completed"],
    "failed": ["initial", "failed"],
    "cancelled": ["initial", "cancelled"],
}
CONFIG = {"start_datetime": "2023-01-01", "end_datetime": "2023-01-03",
          "interval_type": "day", "interval_units": 1}


class TestStatus(ServerTestCase):

    def make(self, state, **extra):
        rec = self.create(**dict(CONFIG, **extra))
        for st in PATH_TO[state]:
            rec = self.put_ok(rec["id"], {"status": st})
            self.assertEqual(rec["status"], st)
        return rec

    def test_every_transition(self):
        for frm in STATES:
            for to in STATES[1:]:
                with self.subTest(frm=frm, to=to):
                    rec = self.make(frm)
                    g = self.req("GET", "/api/backfills/%d" % rec["id"])
                    if to == frm:
                        with self.unchanged():
                            r = self.put(rec["id"], {"status": to})
                            self.assertEqual(r.status, 200, r)
                            self.assertEqual(r.json, g.json)
                            self.assertEqual(r.header("ETag"),
                                             g.header("ETag"))
                    elif to in ALLOWED[frm]:
                        r = self.put(rec["id"], {"status": to})
                        self.assertEqual(r.status, 200, r)
                        out = r.json["backfill"]
                        self.assertEqual(out["status"], to)
                        self.assertEqual(self.etag_version(r)[1],
                                         self.etag_version(g)[1] + 1)
                        self.check_effects(rec, out)
                        self.assertEqual(self.show(rec["id"]), out)
                    else:
                        with self.unchanged():
                            r = self.put(rec["id"], {"status": to})
                            self.assertError(r, 409, "invalid_transition")

    def check_effects(self, before, after):
        to = after["status"]
        if to == "initial":
            self.assertRecent(after["started_at"])
            self.assertIsNone(after["completed_at"])
            self.assertIsNone(after["failed_at"])
        elif to == "running":
            self.assertEqual(after["started_at"], before["started_at"])
            self.assertIsNotNone(after["started_at"])
        elif to == "completed":
            self.assertRecent(after["completed_at"])
            self.assertEqual(after["started_at"], before["started_at"])
        elif to == "failed":
            self.assertRecent(after["failed_at"])
            self.assertEqual(after["started_at"], before["started_at"])
        for f in ("name", "start_datetime", "end_datetime", "interval_type",
                  "interval_units", "created_at", "id"):
            self.assertEqual(after[f], before[f], f)

    def test_start_sets_started_at(self):
        rec = self.create(**CONFIG)
        self.assertIsNone(rec["started_at"])
        out = self.put_ok(rec["id"], {"status": "initial"})
        self.assertRecent(out["started_at"], within=5)
        self.assertRecent(out["updated_at"], within=5)

    def test_retry_from_failed_and_completed(self):
        for path in (["initial", "failed"],
                     ["initial", "running", "failed"],
                     ["initial", "running", "completed"],
                     ["initial", "cancelled"],
                     ["initial", "failed", "cancelled"]):
            with self.subTest(path=path):
                rec = self.create(**CONFIG)
                for st in path:
                    rec = self.put_ok(rec["id"], {"status": st})
                first = rec["started_at"]
                if path[-1] == "completed":
                    self.assertIsNotNone(rec["completed_at"])
                if path[-1] == "failed":
                    self.assertIsNotNone(rec["failed_at"])
                time.sleep(1.05)
                out = self.put_ok(rec["id"], {"status": "initial"})
                self.assertEqual(out["status"], "initial")
                self.assertIsNone(out["completed_at"])
                self.assertIsNone(out["failed_at"])
                self.assertRecent(out["started_at"], within=3)
                self.assertGreater(parse_dt(out["started_at"]),
                                   parse_dt(first))

    def test_status_null_refused_once_set(self):
        for st in STATES[1:]:
            with self.subTest(state=st):
                rec = self.make(st)
                with self.unchanged():
                    self.assertInvalid(self.put(rec["id"], {"status": None}),
                                       "status")
                    self.assertInvalid(self.put(rec["id"], {
                        "status": None, "name": "x"}), "status")

    def test_status_bad_values(self):
        rec = self.create(**CONFIG)
        for v in ("bogus", "Initial", "INITIAL", "", " initial", 1, True,
                  [], {}, ["initial"]):
            with self.subTest(status=v), self.unchanged():
                self.assertInvalid(self.put(rec["id"], {"status": v}),
                                   "status")

    def test_initial_needs_config(self):
        rec = self.create(start_datetime="2023-01-01")
        with self.unchanged():
            r = self.put(rec["id"], {"status": "initial"})
            named = self.assertInvalid(r, "end_datetime", "interval_type",
                                       "interval_units")
            self.assertNotIn("start_datetime", named)
        rec = self.create()
        with self.unchanged():
            r = self.put(rec["id"], {"status": "initial"})
            self.assertInvalid(r, "start_datetime", "end_datetime",
                               "interval_type", "interval_units")
        # clearing a needed field in the same patch counts
        rec = self.create(**CONFIG)
        with self.unchanged():
            r = self.put(rec["id"], {"status": "initial",
                                     "interval_units": None})
            named = self.assertInvalid(r, "interval_units")
            self.assertNotIn("start_datetime", named)

    def test_status_change_with_other_fields(self):
        rec = self.create(name="before")
        out = self.put_ok(rec["id"], dict(CONFIG, status="initial",
                                          name="after", block_uuid="blk",
                                          variables={"v": 1}))
        self.assertEqual(out["status"], "initial")
        self.assertEqual(out["name"], "after")
        self.assertEqual(out["block_uuid"], "blk")
        self.assertEqual(out["variables"], {"v": 1})
        self.assertEqual(out["start_datetime"], "2023-01-01 00:00:00")
        self.assertEqual(out["interval_type"], "day")
        self.assertRecent(out["started_at"])
        self.assertEqual(self.show(rec["id"]), out)
        out = self.put_ok(rec["id"], {"status": "running", "name": "run"})
        self.assertEqual((out["status"], out["name"]), ("running", "run"))
        # same status + other field: the field applies
        out = self.put_ok(rec["id"], {"status": "running", "name": "run2"})
        self.assertEqual((out["status"], out["name"]), ("running", "run2"))

    def test_forbidden_transition_applies_nothing(self):
        rec = self.create(**dict(CONFIG, name="keep"))
        with self.unchanged():
            r = self.put(rec["id"], {"status": "completed", "name": "lost",
                                     "interval_units": 2})
            self.assertError(r, 409, "invalid_transition")
        self.assertEqual(self.show(rec["id"])["name"], "keep")

    def test_invalid_field_with_transition_applies_nothing(self):
        rec = self.create(**CONFIG)
        with self.unchanged():
            r = self.put(rec["id"], {"status": "initial",
                                     "interval_type": "bogus"})
            self.assertInvalid(r, "interval_type")

    def test_plan_over_max_runs_refused(self):
        """docs/API.md "Backfills": a configuration whose plan would exceed
        max_runs (default 100 000) is a 400, promptly."""
        huge = {"start_datetime": "2000-01-01",
                "end_datetime": "2023-01-01", "interval_type": "second",
                "interval_units": 1}
        with self.unchanged():
            t0 = time.monotonic()
            r = self.req("POST", "/api/pipelines/arwen_starlight/backfills",
                         {"backfill": huge}, timeout=15)
            self.assertError(r, 400, "record_invalid")
            self.assertLess(time.monotonic() - t0, 5)
        rec = self.create(**CONFIG)
        with self.unchanged():
            t0 = time.monotonic()
            r = self.req("PUT", "/api/backfills/%d" % rec["id"],
                         {"backfill": dict(huge, status="initial")},
                         timeout=15)
            self.assertError(r, 400, "record_invalid")
            r = self.req("PUT", "/api/backfills/%d" % rec["id"],
                         {"backfill": {"interval_type": "second"}},
                         timeout=15)
            self.assertError(r, 400, "record_invalid")
            self.assertLess(time.monotonic() - t0, 5)
        self.assertIsNone(self.show(rec["id"])["status"])

    def test_status_on_nested_path(self):
        rec = self.create(**CONFIG)
        r = self.put(rec["id"], {"status": "initial"},
                     pipeline=rec["pipeline_uuid"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["status"], "initial")
