"""The founding example's, verbatim, against a fresh demo database."""

from harness import (ServerTestCase, FIELDS, DEMO_ID, DEMO_PIPELINE,
                     API_KEY, OAUTH_COOKIE)

# The body exactly as the curl line sends it (-d keeps the newlines).
FOUNDING_BODY = ('{"backfill": {"start_datetime": "2023-07-17 23:56:05",\n'
                 '                   "end_datetime": "2023-07-18 23:56:05", '
                 '"name": "new_name"}}')


class TestFoundingExample(ServerTestCase):

    def test_1_demo_record_before(self):
        r = self.req("GET", "/api/backfills/%d" % DEMO_ID)
        self.assertEqual(r.status, 200, r)
        self.assertJSON(r)
        self.assertEqual(list(r.json.keys()), ["backfill"])
        rec = r.json["backfill"]
        self.assertRecord(rec)
        expected = {f: None for f in FIELDS}
        expected.update(id=6, created_at="2023-07-18 23:30:26",
                        pipeline_uuid=DEMO_PIPELINE,
                        updated_at=rec["updated_at"])
        self.assertEqual(rec, expected)
        self.assertIsInstance(rec["updated_at"], str)
        self.assertRegex(r.header("ETag") or "", r'^"6-\d+"$')

    def test_2_founding_put(self):
        r = self.req("PUT", "/api/pipelines/arwen_starlight/backfills/6",
                     FOUNDING_BODY.encode(),
                     {"Content-Type": "application/json",
                      "Cookie": OAUTH_COOKIE, "X-API-KEY": API_KEY})
        self.assertEqual(r.status, 200, r)
        self.assertJSON(r)
        body = r.json
        self.assertEqual(list(body.keys()), ["backfill"])
        rec = body["backfill"]
        # exact key order of the documented answer
        self.assertEqual(list(rec.keys()), FIELDS)
        self.assertEqual(rec, {
            "id": 6, "block_uuid": None, "completed_at": None,
            "created_at": "2023-07-18 23:30:26",
            "end_datetime": "2023-07-18 23:56:05",
            "failed_at": None, "interval_type": None, "interval_units": None,
            "metrics": None, "name": "new_name", "pipeline_schedule_id": None,
            "pipeline_uuid": "arwen_starlight", "settings": None,
            "start_datetime": "2023-07-17 23:56:05", "started_at": None,
            "status": None, "updated_at": rec["updated_at"],
            "variables": None})
        self.assertRecent(rec["updated_at"], within=5)
        self.assertRegex(r.header("ETag") or "", r'^"6-\d+"$')
        # ... and it stays so
        r2 = self.req("GET", "/api/pipelines/arwen_starlight/backfills/6")
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json, body)
        self.assertEqual(r2.header("ETag"), r.header("ETag"))
        # the list shows the same record
        r3 = self.req("GET", "/api/backfills")
        self.assertEqual(r3.status, 200, r3)
        self.assertIn(rec, r3.json["backfills"])

    def test_3_founding_put_again_is_noop(self):
        before = self.req("GET", "/api/backfills/6")
        with self.unchanged():
            r = self.req("PUT", "/api/pipelines/arwen_starlight/backfills/6",
                         FOUNDING_BODY.encode())
            self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, before.json)
        self.assertEqual(r.header("ETag"), before.header("ETag"))


class TestStatusRoute(ServerTestCase):

    def test_status(self):
        r = self.req("GET", "/api/status")
        self.assertEqual(r.status, 200, r)
        self.assertJSON(r)
        self.assertEqual(list(r.json.keys()), ["status"])
        st = r.json["status"]
        self.assertEqual(set(st.keys()), {"ok", "version"})
        self.assertIs(st["ok"], True)
        self.assertIsInstance(st["version"], str)
        self.assertTrue(st["version"])

    def test_status_without_credentials(self):
        r = self.req("GET", "/api/status", auth=False)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["status"]["ok"], True)

    def test_status_trailing_slash(self):
        r = self.req("GET", "/api/status/")
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["status"]["ok"], True)
