"""Lists: flat and nested, filter, order, pagination, metadata, query
validation."""

from harness import ServerTestCase, DEMO_PIPELINE, DEMO_ID, parse_dt

BAD_LIMITS = ["0", "1001", "-1", "abc", "", "1.5", "99999999999999999999",
              "5abc", "%205", "0x10", "1e2"]
BAD_OFFSETS = ["-1", "2147483648", "abc", "", "1.5", "99999999999999999999",
               "3x"]


class TestList(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for p in ("pg_list", "pg_many", "pg_empty"):
            cls.server.ctl("pipeline", "add", p, check=True)

    def setUp(self):
        if not hasattr(type(self), "ids"):
            type(self).ids = [self.create("pg_list", name="l%d" % i)["id"]
                              for i in range(5)]

    def list(self, path):
        r = self.req("GET", path)
        self.assertEqual(r.status, 200, r)
        self.assertJSON(r)
        body = r.json
        self.assertEqual(list(body.keys()), ["backfills", "metadata"])
        self.assertEqual(set(body["metadata"].keys()), {"count", "next"})
        self.assertIsInstance(body["metadata"]["count"], int)
        self.assertIsInstance(body["metadata"]["next"], bool)
        for rec in body["backfills"]:
            self.assertRecord(rec)
        return body

    def ids_of(self, body):
        return [b["id"] for b in body["backfills"]]

    def test_nested_list_only_that_pipeline(self):
        body = self.list("/api/pipelines/pg_list/backfills")
        self.assertEqual(self.ids_of(body), sorted(self.ids, reverse=True))
        self.assertEqual(body["metadata"], {"count": 5, "next": False})
        for rec in body["backfills"]:
            self.assertEqual(rec["pipeline_uuid"], "pg_list")

    def test_empty_pipeline(self):
        body = self.list("/api/pipelines/pg_empty/backfills")
        self.assertEqual(body["backfills"], [])
        self.assertEqual(body["metadata"], {"count": 0, "next": False})

    def test_flat_filter(self):
        body = self.list("/api/backfills?pipeline_uuid=pg_list")
        self.assertEqual(self.ids_of(body), sorted(self.ids, reverse=True))
        self.assertEqual(body["metadata"]["count"], 5)

    def test_flat_filter_unknown_pipeline_is_empty(self):
        # a filter naming no pipeline matches none (its nested route is
        # 404: test_routes)
        body = self.list("/api/backfills?pipeline_uuid=no_such_pipeline")
        self.assertEqual(body["backfills"], [])
        self.assertEqual(body["metadata"], {"count": 0, "next": False})

    def test_nested_page_past_the_end_counts(self):
        body = self.list("/api/pipelines/pg_list/backfills?_offset=5")
        self.assertEqual(body["backfills"], [])
        self.assertEqual(body["metadata"], {"count": 5, "next": False})

    def test_nested_and_query_filter_both_apply(self):
        body = self.list("/api/pipelines/pg_list/backfills"
                         "?pipeline_uuid=%s" % DEMO_PIPELINE)
        self.assertEqual(body["backfills"], [])
        self.assertEqual(body["metadata"], {"count": 0, "next": False})
        body = self.list("/api/pipelines/pg_list/backfills"
                         "?pipeline_uuid=pg_list")
        self.assertEqual(self.ids_of(body), sorted(self.ids, reverse=True))

    def test_flat_list_all_pipelines_ordered(self):
        body = self.list("/api/backfills?_limit=1000")
        ids = self.ids_of(body)
        for i in self.ids + [DEMO_ID]:
            self.assertIn(i, ids)
        self.assertEqual(body["metadata"]["count"], len(ids))
        keys = [(parse_dt(b["created_at"]), b["id"])
                for b in body["backfills"]]
        self.assertEqual(keys, sorted(keys, reverse=True),
                         "not created_at desc, id desc")
        # the 2023 demo record is the oldest
        self.assertEqual(ids[-1], DEMO_ID)

    def test_pagination(self):
        want = sorted(self.ids, reverse=True)
        base = "/api/pipelines/pg_list/backfills"
        b = self.list(base + "?_limit=2")
        self.assertEqual(self.ids_of(b), want[0:2])
        self.assertEqual(b["metadata"], {"count": 5, "next": True})
        b = self.list(base + "?_limit=2&_offset=2")
        self.assertEqual(self.ids_of(b), want[2:4])
        self.assertEqual(b["metadata"], {"count": 5, "next": True})
        b = self.list(base + "?_offset=4&_limit=2")
        self.assertEqual(self.ids_of(b), want[4:])
        self.assertEqual(b["metadata"], {"count": 5, "next": False})
        b = self.list(base + "?_limit=3&_offset=2")
        self.assertEqual(self.ids_of(b), want[2:5])
        self.assertEqual(b["metadata"], {"count": 5, "next": False})
        b = self.list(base + "?_offset=5")
        self.assertEqual(b["backfills"], [])
        self.assertEqual(b["metadata"], {"count": 5, "next": False})
        b = self.list(base + "?_offset=2147483647")
        self.assertEqual(b["backfills"], [])
        self.assertEqual(b["metadata"], {"count": 5, "next": False})
        b = self.list(base + "?_limit=1")
        self.assertEqual(self.ids_of(b), want[:1])
        self.assertEqual(b["metadata"], {"count": 5, "next": True})
        b = self.list(base + "?_limit=1000&_offset=0")
        self.assertEqual(self.ids_of(b), want)
        b = self.list("/api/backfills?pipeline_uuid=pg_list&_limit=2"
                      "&_offset=1")
        self.assertEqual(self.ids_of(b), want[1:3])
        self.assertEqual(b["metadata"], {"count": 5, "next": True})

    def test_default_limit_40(self):
        made = [self.create("pg_many", name="m%d" % i)["id"]
                for i in range(41)]
        b = self.list("/api/pipelines/pg_many/backfills")
        self.assertEqual(len(b["backfills"]), 40)
        self.assertEqual(self.ids_of(b), sorted(made, reverse=True)[:40])
        self.assertEqual(b["metadata"], {"count": 41, "next": True})
        b = self.list("/api/pipelines/pg_many/backfills?_offset=40")
        self.assertEqual(self.ids_of(b), [min(made)])
        self.assertEqual(b["metadata"], {"count": 41, "next": False})

    def test_include_run_count_accepted(self):
        b = self.list("/api/pipelines/pg_list/backfills?include_run_count="
                      "true")
        self.assertEqual(b["metadata"]["count"], 5)

    def test_deleted_record_leaves_list(self):
        bid = self.create("pg_list", name="gone")["id"]
        b = self.list("/api/pipelines/pg_list/backfills")
        self.assertEqual(b["metadata"]["count"], 6)
        self.assertEqual(self.ids_of(b)[0], bid)
        r = self.req("DELETE", "/api/backfills/%d" % bid)
        self.assertEqual(r.status, 200, r)
        b = self.list("/api/pipelines/pg_list/backfills")
        self.assertEqual(b["metadata"]["count"], 5)
        self.assertNotIn(bid, self.ids_of(b))

    def test_bad_limit_offset_400(self):
        for base in ("/api/backfills",
                     "/api/pipelines/pg_list/backfills"):
            for v in BAD_LIMITS:
                with self.subTest(base=base, _limit=v), self.unchanged():
                    self.assertError(self.req("GET", "%s?_limit=%s"
                                              % (base, v)),
                                     400, "invalid_query")
            for v in BAD_OFFSETS:
                with self.subTest(base=base, _offset=v), self.unchanged():
                    self.assertError(self.req("GET", "%s?_offset=%s"
                                              % (base, v)),
                                     400, "invalid_query")
