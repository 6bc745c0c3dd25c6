"""Create (POST on the nested path) and body decoding: invalid_json,
read-only and unknown keys."""

from harness import ServerTestCase, DEMO_PIPELINE, DEMO_ID, FIELDS

NEW = "/api/pipelines/%s/backfills" % DEMO_PIPELINE

# Bodies that are not one JSON object {"backfill": {...}}.
NOT_ONE_OBJECT = [
    b"[]", b'"x"', b"{}", b'{"backfill": 1}', b'{"backfill": null}',
    b'{"backfill": []}', b'{"backfill": "x"}', b'{"backfill": true}',
    b'{"backfill":{}} x', b'{"backfill":{}}{"backfill":{}}',
    b'{"backfill":{}} {}', b'{"backfill": {"name": "a"}, "other": 1}',
    b'{"backfills": {}}', b'{"Backfill": {}}',
    b"", b" ", b"null", b"1", b"true", b"{", b'{"backfill": {',
    b'{"backfill": {"name": "a",}}', b"{'backfill': {}}",
    b'{"backfill": {"name": "a"}', b'{"backfill": {"name": "\xff\xfe"}}',
    b'{"backfill": {"name": "\xc3\x28"}}', b'{"backfill": {"name": "\xed\xa0\x80"}}',
    b'\xef\xbb\xbf{"backfill": {}}x', b'{"backfill": {"name": NaN}}',
    b'{"backfill": {"interval_units": 01}}',
    b'{"backfill": {"name": "a\x01b"}}',
    b'{"backfill": {"settings": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 +
    b"}}",
    b'{"backfill": {"settings": ' + b"[" * 40 + b"]" * 40 + b"}}",
]


class TestCreate(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("pipeline", "add", "pg_create", check=True)

    def test_create_minimal(self):
        r = self.req("POST", NEW, {"backfill": {}})
        self.assertEqual(r.status, 201, r)
        self.assertJSON(r)
        self.assertEqual(list(r.json.keys()), ["backfill"])
        rec = r.json["backfill"]
        self.assertRecord(rec, DEMO_PIPELINE)
        self.assertIsInstance(rec["id"], int)
        self.assertEqual(r.header("Location"), "/api/backfills/%d" % rec["id"])
        self.assertEqual(r.header("ETag"), '"%d-%d"'
                         % self.etag_version(r))
        self.assertEqual(self.etag_version(r)[0], rec["id"])
        self.assertRecent(rec["created_at"])
        self.assertRecent(rec["updated_at"])
        for f in FIELDS:
            if f not in ("id", "created_at", "updated_at", "pipeline_uuid"):
                self.assertIsNone(rec[f], f)
        g = self.req("GET", r.header("Location"))
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.json, r.json)
        self.assertEqual(g.header("ETag"), r.header("ETag"))

    def test_create_all_writable_fields(self):
        fields = {"name": "full", "block_uuid": "blk_1",
                  "start_datetime": "2023-01-01 00:00:00",
                  "end_datetime": "2023-01-02T00:00:00Z",
                  "interval_type": "hour", "interval_units": 6,
                  "settings": {"a": [1, 2, {"b": None}], "c": "d"},
                  "variables": {"x": 1.5, "y": "z", "n": None}}
        r = self.req("POST", NEW, {"backfill": fields})
        self.assertEqual(r.status, 201, r)
        rec = r.json["backfill"]
        self.assertRecord(rec, DEMO_PIPELINE)
        want = dict(fields, end_datetime="2023-01-02 00:00:00")
        for k, v in want.items():
            self.assertEqual(rec[k], v, k)
        self.assertIsNone(rec["status"])
        self.assertIsNone(rec["started_at"])
        self.assertEqual(self.show(rec["id"]), rec)

    def test_create_ids_increase_and_location(self):
        a = self.create(name="a")["id"]
        r = self.req("POST", "/api/pipelines/pg_create/backfills",
                     {"backfill": {"name": "b"}})
        self.assertEqual(r.status, 201, r)
        b = r.json["backfill"]
        self.assertGreater(b["id"], a)
        self.assertEqual(b["pipeline_uuid"], "pg_create")
        self.assertEqual(r.header("Location"), "/api/backfills/%d" % b["id"])
        r = self.req("GET", "/api/pipelines/pg_create/backfills/%d" % b["id"])
        self.assertEqual(r.status, 200, r)

    def test_create_status_null_accepted(self):
        r = self.req("POST", NEW, {"backfill": {"status": None,
                                                "name": "sn"}})
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.json["backfill"]["status"])
        self.assertEqual(r.json["backfill"]["name"], "sn")

    def test_create_status_not_null_refused(self):
        for st in ("initial", "running", "completed", "failed", "cancelled",
                   "bogus", 1, True, {}):
            with self.subTest(status=st), self.unchanged():
                r = self.req("POST", NEW, {"backfill": {
                    "status": st, "start_datetime": "2023-01-01",
                    "end_datetime": "2023-01-02", "interval_type": "day",
                    "interval_units": 1}})
                self.assertInvalid(r, "status")

    def test_create_pipeline_from_path_not_body(self):
        r = self.req("POST", NEW, {"backfill": {"pipeline_uuid": "pg_create",
                                                "name": "pathwins"}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["backfill"]["pipeline_uuid"], DEMO_PIPELINE)

    def test_create_read_only_ignored(self):
        ro = {"id": DEMO_ID, "created_at": "garbage", "updated_at": 5,
              "started_at": "2020-01-01 00:00:00", "completed_at": [],
              "failed_at": {"x": 1}, "metrics": {"m": 1},
              "pipeline_schedule_id": 42, "pipeline_uuid": "nope!"}
        r = self.req("POST", NEW, {"backfill": dict(ro, name="ro")})
        self.assertEqual(r.status, 201, r)
        rec = r.json["backfill"]
        self.assertNotEqual(rec["id"], DEMO_ID)
        self.assertEqual(rec["name"], "ro")
        self.assertRecent(rec["created_at"])
        for f in ("started_at", "completed_at", "failed_at", "metrics",
                  "pipeline_schedule_id"):
            self.assertIsNone(rec[f], f)
        self.assertEqual(rec["pipeline_uuid"], DEMO_PIPELINE)
        self.assertEqual(self.show(DEMO_ID)["id"], DEMO_ID)

    def test_create_unknown_key(self):
        with self.unchanged():
            r = self.req("POST", NEW, {"backfill": {"foo": 1, "name": "x"}})
            self.assertInvalid(r, "foo")

    def test_create_three_wrong_fields(self):
        with self.unchanged():
            r = self.req("POST", NEW, {"backfill": {
                "interval_type": "fortnight", "interval_units": 0,
                "name": "n" * 256, "block_uuid": "ok"}})
            named = self.assertInvalid(r, "interval_type", "interval_units",
                                       "name")
            self.assertEqual(sorted(named),
                             ["interval_type", "interval_units", "name"])

    def test_create_end_before_start(self):
        with self.unchanged():
            r = self.req("POST", NEW, {"backfill": {
                "start_datetime": "2023-01-02", "end_datetime": "2023-01-01"}})
            named = self.assertInvalid(r)
            self.assertTrue(set(named) & {"start_datetime", "end_datetime"},
                            named)

    def test_create_end_equal_start_ok(self):
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2023-01-01T00:00:00Z")
        self.assertEqual(rec["start_datetime"], rec["end_datetime"])

    def test_invalid_json_bodies(self):
        for body in NOT_ONE_OBJECT:
            for path, method in ((NEW, "POST"),
                                 ("/api/backfills/%d" % DEMO_ID, "PUT")):
                with self.subTest(body=body[:60], method=method), \
                        self.unchanged():
                    r = self.req(method, path, body)
                    self.assertError(r, 400, "invalid_json")

    def test_api_key_root_key_allowed(self):
        r = self.req("POST", NEW, {"backfill": {"name": "k"},
                                   "api_key": "whatever"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["backfill"]["name"], "k")

    def test_nested_settings_ok(self):
        deep = 1
        for _ in range(10):
            deep = {"a": deep}
        rec = self.create(settings=deep)
        self.assertEqual(rec["settings"], deep)

    def test_content_type_ignored_charset(self):
        r = self.req("POST", NEW, b'{"backfill": {"name": "ct"}}',
                     {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 201, r)
