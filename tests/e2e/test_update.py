"""Update (partial PUT), field validation, datetimes, ETag / If-Match,
and delete."""

import time

from harness import ServerTestCase, DEMO_PIPELINE, FIELDS, parse_dt

VALID_DATETIMES = [
    ("2023-07-18", "2023-07-18 00:00:00"),
    ("2023-07-18 10:11:12", "2023-07-18 10:11:12"),
    ("2023-07-18T10:11:12", "2023-07-18 10:11:12"),
    ("2023-07-18T10:00:00Z", "2023-07-18 10:00:00"),
    ("2023-07-18 10:00:00Z", "2023-07-18 10:00:00"),
    ("2023-07-18T10:00:00+02:00", "2023-07-18 08:00:00"),
    ("2023-07-18 10:00:00+02:00", "2023-07-18 08:00:00"),
    ("2023-07-18T01:00:00+02:00", "2023-07-17 23:00:00"),
    ("2023-07-18 22:30:00-05:30", "2023-07-19 04:00:00"),
    ("2023-12-31T23:30:00-01:00", "2024-01-01 00:30:00"),
    ("2023-07-18T00:00:00+00:00", "2023-07-18 00:00:00"),
    ("2023-07-18T08:00:00.500000Z", "2023-07-18 08:00:00.500000"),
    ("2023-07-18 08:00:00.5", "2023-07-18 08:00:00.500000"),
    ("2023-07-18 08:00:00.000000", "2023-07-18 08:00:00"),
    ("2023-07-18 08:00:00.0Z", "2023-07-18 08:00:00"),
    ("2023-07-18 08:00:00.000001", "2023-07-18 08:00:00.000001"),
    ("2023-07-18T08:00:00.123456+01:00", "2023-07-18 07:00:00.123456"),
    ("2024-02-29", "2024-02-29 00:00:00"),
    ("2000-02-29 23:59:59", "2000-02-29 23:59:59"),
]

INVALID_DATETIMES = [
    "2023-02-30", "2023-02-29", "1900-02-29", "2023-04-31",
    "2023-07-18 24:00:00", "2023-7-18", "2023-07-18T10:00",
    "2023-07-18 10:00:00.1234567", "2023-07-18t10:00:00",
    "2023-07-18T10:00:00z", " 2023-07-18", "2023-07-18 ", "2023-07-18\n",
    20230718, 1.5, True, {}, [], "", "garbage", "2023-13-01",
    "2023-00-10", "2023-07-00", "2023-07-32", "2023-07-18 10:60:00",
    "2023-07-18 10:00:60", "2023-07-18T10:00:00+2:00",
    "2023-07-18T10:00:00+02", "2023-07-18T10:00:00+0200",
    "2023-07-18T10:00:00.", "2023-07-18T10:00:00 Z",
    "2023-07-18  10:00:00", "23-07-18", "2023/07/18", "July 18 2023",
    "2023-07-18T10:00:00+02:60", "\uff12\uff10\uff12\uff13-07-18",
    "2023-07-18\u0000", "2023-07-18T10:00:00ZZ", "2023-07-18T",
    "2023-07-18 10:00:00.+01:00", "now", "+2023-07-18",
]


class TestUpdate(ServerTestCase):

    # -- partial update, null, versions ------------------------------------

    def test_partial_update_keeps_other_fields(self):
        rec = self.create(name="p", block_uuid="b1",
                          settings={"k": 1})
        out = self.put_ok(rec["id"], {"block_uuid": "b2"})
        self.assertEqual(out["name"], "p")
        self.assertEqual(out["settings"], {"k": 1})
        self.assertEqual(out["block_uuid"], "b2")
        self.assertRecord(out, DEMO_PIPELINE)
        out = self.put_ok(rec["id"], {"interval_type": "week"})
        self.assertEqual((out["name"], out["block_uuid"],
                          out["interval_type"]), ("p", "b2", "week"))
        self.assertEqual(self.show(rec["id"]), out)
        self.assertEqual(out["created_at"], rec["created_at"])

    def test_null_clears(self):
        rec = self.create(name="n", block_uuid="b",
                          start_datetime="2023-01-01",
                          end_datetime="2023-01-02", interval_type="day",
                          interval_units=1, settings={"a": 1},
                          variables={"v": 2})
        clear = {f: None for f in ("name", "block_uuid", "start_datetime",
                                   "end_datetime", "interval_type",
                                   "interval_units", "settings",
                                   "variables")}
        out = self.put_ok(rec["id"], clear)
        for f in clear:
            self.assertIsNone(out[f], f)
        self.assertEqual(self.show(rec["id"]), out)

    def test_change_bumps_version_and_updated_at(self):
        r = self.req("POST", "/api/pipelines/%s/backfills" % DEMO_PIPELINE,
                     {"backfill": {"name": "v0"}})
        rec = r.json["backfill"]
        bid, v0 = self.etag_version(r)
        self.assertEqual(bid, rec["id"])
        time.sleep(1.1)
        r = self.put(bid, {"name": "v1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.etag_version(r), (bid, v0 + 1))
        up = r.json["backfill"]["updated_at"]
        self.assertRecent(up, within=3)
        self.assertGreater(parse_dt(up), parse_dt(rec["updated_at"]))
        r = self.put(bid, {"name": "v2", "block_uuid": "x"})
        self.assertEqual(self.etag_version(r), (bid, v0 + 2))
        g = self.req("GET", "/api/backfills/%d" % bid)
        self.assertEqual(g.header("ETag"), r.header("ETag"))

    def test_noop_update_same_etag_and_updated_at(self):
        rec = self.create(name="same", interval_units=5,
                          start_datetime="2023-07-18T10:00:00+02:00",
                          settings={"a": [1, 2]})
        g = self.req("GET", "/api/backfills/%d" % rec["id"])
        time.sleep(1.1)
        for patch in ({}, {"name": "same"}, {"interval_units": 5},
                      {"start_datetime": "2023-07-18 08:00:00"},
                      {"start_datetime": "2023-07-18T08:00:00.000Z"},
                      {"settings": {"a": [1, 2]}}, {"variables": None},
                      {"name": "same", "block_uuid": None}):
            with self.subTest(patch=patch), self.unchanged():
                r = self.put(rec["id"], patch)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("ETag"), g.header("ETag"))
                self.assertEqual(r.json, g.json)

    def test_get_modify_put_round_trip(self):
        rec = self.create(name="rt", settings={"s": 1})
        g = self.req("GET", "/api/backfills/%d" % rec["id"])
        body = g.json
        self.assertIsNone(body["backfill"]["status"])
        # the exact GET body changes nothing
        with self.unchanged():
            r = self.req("PUT", "/api/backfills/%d" % rec["id"], g.body)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json, body)
            self.assertEqual(r.header("ETag"), g.header("ETag"))
        # ... and modified it applies
        body["backfill"]["name"] = "rt2"
        body["backfill"]["interval_type"] = "month"
        r = self.req("PUT", "/api/pipelines/%s/backfills/%d"
                     % (DEMO_PIPELINE, rec["id"]), body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "rt2")
        self.assertEqual(r.json["backfill"]["interval_type"], "month")
        self.assertEqual(self.etag_version(r)[1],
                         self.etag_version(g)[1] + 1)

    def test_read_only_ignored_on_update(self):
        rec = self.create(name="ro")
        before = self.show(rec["id"])
        for ro in ({"id": 1}, {"id": "abc"}, {"created_at": "garbage"},
                   {"updated_at": "2000-01-01"}, {"started_at": 5},
                   {"completed_at": "2020-01-01 00:00:00"},
                   {"failed_at": []}, {"metrics": {"x": 1}},
                   {"metrics": "m"}, {"pipeline_schedule_id": 3},
                   {"pipeline_uuid": "other"}, {"pipeline_uuid": None},
                   {"id": None, "created_at": None, "updated_at": None}):
            with self.subTest(patch=ro), self.unchanged():
                r = self.put(rec["id"], ro)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["backfill"], before)
        out = self.put_ok(rec["id"], {"id": 99999, "name": "ro2",
                                      "pipeline_uuid": "x"})
        self.assertEqual(out["id"], rec["id"])
        self.assertEqual(out["name"], "ro2")
        self.assertEqual(out["pipeline_uuid"], DEMO_PIPELINE)

    def test_unknown_key_on_update(self):
        rec = self.create(name="u")
        with self.unchanged():
            self.assertInvalid(self.put(rec["id"], {"foo": 1}), "foo")
            self.assertInvalid(self.put(rec["id"], {"foo": None,
                                                    "name": "new"}), "foo")
            self.assertInvalid(self.put(rec["id"], {"total_run_count": 1}),
                               "total_run_count")

    def test_three_wrong_fields_three_entries(self):
        rec = self.create(name="three")
        with self.unchanged():
            r = self.put(rec["id"], {"interval_type": "x",
                                     "interval_units": "5",
                                     "start_datetime": "2023-02-30",
                                     "name": "fine"})
            named = self.assertInvalid(r, "interval_type", "interval_units",
                                       "start_datetime")
            self.assertEqual(len(named), 3, named)

    # -- field validation --------------------------------------------------

    def check_invalid(self, field, values):
        rec = self.create(name="inv-" + field)
        for v in values:
            with self.subTest(field=field, value=repr(v)[:50]), \
                    self.unchanged():
                self.assertInvalid(self.put(rec["id"], {field: v}), field)
        for v in values:
            with self.subTest(create=field, value=repr(v)[:50]), \
                    self.unchanged():
                r = self.req("POST", "/api/pipelines/%s/backfills"
                             % DEMO_PIPELINE, {"backfill": {field: v}})
                self.assertInvalid(r, field)

    def check_valid(self, field, pairs):
        rec = self.create(name="ok-" + field)
        for sent, shown in pairs:
            with self.subTest(field=field, value=repr(sent)[:50]):
                out = self.put_ok(rec["id"], {field: sent})
                self.assertEqual(out[field], shown)
                self.assertEqual(self.show(rec["id"])[field], shown)

    def test_datetimes_valid(self):
        self.check_valid("start_datetime", VALID_DATETIMES)
        self.check_valid("end_datetime", VALID_DATETIMES)

    def test_datetimes_invalid(self):
        self.check_invalid("start_datetime", INVALID_DATETIMES)
        self.check_invalid("end_datetime", INVALID_DATETIMES[:12])

    def test_end_before_start(self):
        rec = self.create(start_datetime="2023-07-18 10:00:00")
        with self.unchanged():
            r = self.put(rec["id"], {"end_datetime": "2023-07-18 09:59:59"})
            named = self.assertInvalid(r)
            self.assertTrue(set(named) & {"start_datetime", "end_datetime"})
            r = self.put(rec["id"], {"end_datetime": "2023-07-18 09:59:59.9"})
            self.assertInvalid(r)
            # offset makes it earlier in UTC
            r = self.put(rec["id"], {"end_datetime":
                                     "2023-07-18T11:00:00+02:00"})
            self.assertInvalid(r)
        out = self.put_ok(rec["id"], {"end_datetime": "2023-07-18 10:00:00"})
        self.assertEqual(out["end_datetime"], "2023-07-18 10:00:00")
        with self.unchanged():
            r = self.put(rec["id"], {"start_datetime": "2023-07-18 10:00:01"})
            self.assertInvalid(r)
        # both in one patch, or clearing one, is fine
        out = self.put_ok(rec["id"], {"start_datetime": "2024-01-01",
                                      "end_datetime": "2024-01-02"})
        self.assertEqual(out["start_datetime"], "2024-01-01 00:00:00")
        out = self.put_ok(rec["id"], {"start_datetime": None,
                                      "end_datetime": "2000-01-01"})
        self.assertIsNone(out["start_datetime"])

    def test_interval_units(self):
        self.check_valid("interval_units", [(1, 1), (1000000, 1000000),
                                            (None, None), (42, 42)])
        self.check_invalid("interval_units", [
            0, -1, 1000001, 1.0, "5", True, False, 1e3, [], {}, 2 ** 63,
            2 ** 64 + 1, -2 ** 63, 1.5, "", "1e3"])

    def test_interval_type(self):
        kinds = ["second", "minute", "hour", "day", "week", "month", "year",
                 "custom"]
        self.check_valid("interval_type", [(k, k) for k in kinds] +
                         [(None, None)])
        self.check_invalid("interval_type", ["Day", "days", "", " day",
                                             "day ", 1, [], True, {},
                                             "hourly", "DAY"])

    def test_interval_type_message_lists_choices(self):
        rec = self.create()
        r = self.put(rec["id"], {"interval_type": "fortnight"})
        err = self.assertError(r, 400, "record_invalid")
        self.assertEqual(err["errors"], [{
            "field": "interval_type",
            "message": "must be one of second, minute, hour, day, week, "
                       "month, year, custom"}])

    def test_name_and_block_uuid(self):
        for f in ("name", "block_uuid"):
            self.check_valid(f, [
                ("a" * 255, "a" * 255), ("\u20ac" * 85, "\u20ac" * 85),
                ("\u00e9" * 127, "\u00e9" * 127),
                ("\u00fcn\u00efc\u00f8d\u00e9 \U0001F680 \"q\" \\ /",
                 "\u00fcn\u00efc\u00f8d\u00e9 \U0001F680 \"q\" \\ /"),
                ("tab\there\nnl", "tab\there\nnl"), ("", ""),
                (None, None)])
            self.check_invalid(f, ["a" * 256, "\u00e9" * 128,
                                   "\u20ac" * 86, "a\u0000b", "\u0000",
                                   1, True, [], {}, 1.5])

    def test_settings_and_variables(self):
        for f in ("settings", "variables"):
            self.check_valid(f, [
                ({}, {}), ({"a": {"b": [1, "2", None, True, 1.5]}},
                           {"a": {"b": [1, "2", None, True, 1.5]}}),
                ({"\u00e9": "\U0001F680"}, {"\u00e9": "\U0001F680"}),
                (None, None)])
            self.check_invalid(f, [[], [1], "x", "{}", 1, 1.5, True, False])

    # -- If-Match ----------------------------------------------------------

    def test_if_match(self):
        rec = self.create(name="im")
        bid = rec["id"]
        g = self.req("GET", "/api/backfills/%d" % bid)
        tag = g.header("ETag")
        _, ver = self.etag_version(g)
        stale = '"%d-%d"' % (bid, ver + 7)
        for im in (stale, "W/" + tag, '"%d-%d"' % (bid + 1, ver),
                   stale + ", " + '"x"', '""'):
            with self.subTest(if_match=im), self.unchanged():
                r = self.put(bid, {"name": "no"}, {"If-Match": im})
                self.assertError(r, 412, "precondition_failed")
                r = self.req("DELETE", "/api/backfills/%d" % bid,
                             headers={"If-Match": im})
                self.assertError(r, 412, "precondition_failed")
        r = self.put(bid, {"name": "yes"}, {"If-Match": tag})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "yes")
        tag2 = r.header("ETag")
        self.assertNotEqual(tag, tag2)
        with self.unchanged():   # the old tag no longer matches
            r = self.put(bid, {"name": "again"}, {"If-Match": tag})
            self.assertError(r, 412, "precondition_failed")
        r = self.put(bid, {"name": "star"}, {"If-Match": "*"})
        self.assertEqual(r.status, 200, r)
        tag3 = r.header("ETag")
        r = self.put(bid, {"name": "list"},
                     {"If-Match": '"1-1", %s , "zz"' % tag3})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "list")
        tag4 = r.header("ETag")
        r = self.put(bid, {"name": "list2"},
                     {"If-Match": '%s,"1-1"' % tag4})
        self.assertEqual(r.status, 200, r)
        tag5 = r.header("ETag")
        r = self.req("DELETE", "/api/backfills/%d" % bid,
                     headers={"If-Match": tag5})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "list2")

    def test_if_match_noop_keeps_tag(self):
        rec = self.create(name="im2")
        g = self.req("GET", "/api/backfills/%d" % rec["id"])
        r = self.put(rec["id"], {"name": "im2"}, {"If-Match": g.header("ETag")})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("ETag"), g.header("ETag"))


class TestDelete(ServerTestCase):

    def test_delete_returns_record_then_404(self):
        rec = self.create(name="del", settings={"a": 1},
                          start_datetime="2023-01-01")
        g = self.req("GET", "/api/backfills/%d" % rec["id"])
        r = self.req("DELETE", "/api/backfills/%d" % rec["id"])
        self.assertEqual(r.status, 200, r)
        self.assertJSON(r)
        self.assertEqual(r.json, g.json)
        self.assertEqual(list(r.json["backfill"].keys()), FIELDS)
        p = "/api/backfills/%d" % rec["id"]
        with self.unchanged():
            self.assertError(self.req("GET", p), 404, "record_not_found")
            self.assertError(self.req("PUT", p, {"backfill": {"name": "z"}}),
                             404, "record_not_found")
            self.assertError(self.req("DELETE", p), 404, "record_not_found")
            self.assertError(self.req("GET", "/api/pipelines/%s/backfills/%d"
                                      % (DEMO_PIPELINE, rec["id"])),
                             404, "record_not_found")
        lst = self.req("GET", "/api/backfills?_limit=1000").json
        self.assertNotIn(rec["id"], [b["id"] for b in lst["backfills"]])

    def test_delete_nested(self):
        rec = self.create(name="deln")
        p = "/api/pipelines/%s/backfills/%d" % (DEMO_PIPELINE, rec["id"])
        r = self.req("DELETE", p)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["id"], rec["id"])
        self.assertError(self.req("GET", p), 404, "record_not_found")

    def test_delete_with_body_or_started(self):
        rec = self.create(name="dels", start_datetime="2023-01-01",
                          end_datetime="2023-01-03", interval_type="day",
                          interval_units=1)
        self.put_ok(rec["id"], {"status": "initial"})
        r = self.req("DELETE", "/api/backfills/%d" % rec["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["status"], "initial")
        self.assertError(self.req("GET", "/api/backfills/%d" % rec["id"]),
                         404, "record_not_found")
