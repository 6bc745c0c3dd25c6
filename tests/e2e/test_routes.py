"""Routing: shapes of paths, ids and uuids, 404, 405 + Allow, OPTIONS,
trailing slashes, nested routes that must own the backfill."""

from harness import ServerTestCase, DEMO_PIPELINE, DEMO_ID

BAD_IDS = ["abc", "0", "-1", "1.5", "1" * 30, "6a", "0x10", "1e3", "+6"]
BAD_UUIDS = ["a%20b", "a:b", "%C3%A4", "a*b", "a%27b", "x" * 256,
             "a~b", "a%25b"]
OK_BODY = {"backfill": {"name": "should-not-be-written"}}


class TestRoutes(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("pipeline", "add", "other_pipe", check=True)

    # -- show, nested ownership ----------------------------------------

    def test_show_flat_and_nested(self):
        a = self.req("GET", "/api/backfills/%d" % DEMO_ID)
        b = self.req("GET", "/api/pipelines/%s/backfills/%d"
                     % (DEMO_PIPELINE, DEMO_ID))
        self.assertEqual(a.status, 200, a)
        self.assertEqual(b.status, 200, b)
        self.assertEqual(a.json, b.json)
        self.assertRecord(a.json["backfill"], DEMO_PIPELINE)
        self.assertEqual(a.header("ETag"), b.header("ETag"))

    def test_nested_other_pipeline_is_404(self):
        p = "/api/pipelines/other_pipe/backfills/%d" % DEMO_ID
        with self.unchanged():
            self.assertError(self.req("GET", p), 404, "record_not_found")
            self.assertError(self.req("PUT", p, OK_BODY), 404,
                             "record_not_found")
            self.assertError(self.req("DELETE", p), 404, "record_not_found")
        self.assertEqual(self.show(DEMO_ID)["pipeline_uuid"], DEMO_PIPELINE)

    def test_nested_list_of_other_pipeline_excludes_record(self):
        r = self.req("GET", "/api/pipelines/other_pipe/backfills")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(DEMO_ID, [b["id"] for b in r.json["backfills"]])

    def test_missing_pipeline_is_404(self):
        base = "/api/pipelines/no_such_pipeline/backfills"
        with self.unchanged():
            self.assertError(self.req("GET", base), 404, "record_not_found")
            self.assertError(self.req("POST", base, OK_BODY), 404,
                             "record_not_found")
            p = "%s/%d" % (base, DEMO_ID)
            self.assertError(self.req("GET", p), 404, "record_not_found")
            self.assertError(self.req("PUT", p, OK_BODY), 404,
                             "record_not_found")
            self.assertError(self.req("DELETE", p), 404, "record_not_found")

    def test_bad_uuid_is_404(self):
        for u in BAD_UUIDS:
            with self.subTest(uuid=u[:40]), self.unchanged():
                base = "/api/pipelines/%s/backfills" % u
                self.assertError(self.req("GET", base), 404,
                                 "record_not_found")
                self.assertError(self.req("POST", base, OK_BODY), 404,
                                 "record_not_found")
                p = "%s/%d" % (base, DEMO_ID)
                self.assertError(self.req("GET", p), 404, "record_not_found")
                self.assertError(self.req("PUT", p, OK_BODY), 404,
                                 "record_not_found")

    def test_uuid_255_chars_well_formed_missing_is_404(self):
        base = "/api/pipelines/%s/backfills" % ("a." * 127 + "z")
        with self.unchanged():
            self.assertError(self.req("GET", base), 404, "record_not_found")

    # -- ids -------------------------------------------------------------

    def test_bad_id_is_400_invalid_query(self):
        for bad in BAD_IDS:
            for p in ("/api/backfills/%s" % bad,
                      "/api/pipelines/%s/backfills/%s"
                      % (DEMO_PIPELINE, bad)):
                with self.subTest(path=p), self.unchanged():
                    self.assertError(self.req("GET", p), 400,
                                     "invalid_query")
                    self.assertError(self.req("PUT", p, OK_BODY), 400,
                                     "invalid_query")
                    self.assertError(self.req("DELETE", p), 400,
                                     "invalid_query")

    def test_missing_id_is_404(self):
        for p in ("/api/backfills/999999",
                  "/api/pipelines/%s/backfills/999999" % DEMO_PIPELINE,
                  "/api/backfills/9007199254740992"):
            with self.subTest(path=p), self.unchanged():
                self.assertError(self.req("GET", p), 404, "record_not_found")
                self.assertError(self.req("PUT", p, OK_BODY), 404,
                                 "record_not_found")
                self.assertError(self.req("DELETE", p), 404,
                                 "record_not_found")

    # -- unknown paths ---------------------------------------------------

    def test_unknown_paths_404(self):
        # (/api/pipelines/<uuid> is a pipeline, Mage's frame reads it;
        # nginx merges "//", so /api/pipelines//backfills is the
        # pipeline named "backfills")
        paths = ["/api/nope", "/api", "/api/", "/api/backfills/6/extra",
                 "/api/pipelines", "/api/pipelines/",
                 "/api/pipelines/arwen_starlight/backfills/6/x",
                 "/api/pipelines/arwen_starlight/x",
                 "/api/backfill", "/api/backfills6", "/api/Backfills",
                 "/api/status/x", "/api/pipeline_runs/claim/x"]
        for p in paths:
            with self.subTest(path=p), self.unchanged():
                self.assertError(self.req("GET", p), 404, "record_not_found")
                self.assertError(self.req("PUT", p, OK_BODY), 404,
                                 "record_not_found")
                self.assertError(self.req("POST", p, OK_BODY), 404,
                                 "record_not_found")
                self.assertError(self.req("DELETE", p), 404,
                                 "record_not_found")

    # -- trailing slash --------------------------------------------------

    def test_trailing_slash(self):
        r = self.req("GET", "/api/backfills/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, self.req("GET", "/api/backfills").json)
        r = self.req("GET", "/api/backfills/%d/" % DEMO_ID)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["id"], DEMO_ID)
        r = self.req("GET", "/api/pipelines/%s/backfills/" % DEMO_PIPELINE)
        self.assertEqual(r.status, 200, r)
        self.assertIn(DEMO_ID, [b["id"] for b in r.json["backfills"]])
        r = self.req("GET", "/api/pipelines/%s/backfills/%d/"
                     % (DEMO_PIPELINE, DEMO_ID))
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/pipelines/%s/backfills/" % DEMO_PIPELINE,
                     {"backfill": {"name": "slash"}})
        self.assertEqual(r.status, 201, r)
        bid = r.json["backfill"]["id"]
        r = self.req("PUT", "/api/backfills/%d/" % bid,
                     {"backfill": {"name": "slash2"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "slash2")
        r = self.req("DELETE", "/api/backfills/%d/" % bid)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.req("GET", "/api/backfills/%d" % bid), 404,
                         "record_not_found")

    # -- 405 + Allow -----------------------------------------------------

    def test_405_with_allow(self):
        pl = "/api/pipelines/%s/backfills" % DEMO_PIPELINE
        cases = [
            ("/api/backfills", ["POST", "PUT", "DELETE", "PATCH"],
             {"GET", "OPTIONS"}),
            ("/api/backfills/%d" % DEMO_ID, ["POST", "PATCH"],
             {"GET", "PUT", "DELETE", "OPTIONS"}),
            (pl, ["PUT", "DELETE", "PATCH"], {"GET", "POST", "OPTIONS"}),
            ("/api/pipelines/x/backfills", ["PUT", "DELETE"],
             {"GET", "POST", "OPTIONS"}),
            ("%s/%d" % (pl, DEMO_ID), ["POST", "PATCH"],
             {"GET", "PUT", "DELETE", "OPTIONS"}),
            ("/api/status", ["POST", "PUT", "DELETE"], {"GET", "OPTIONS"}),
            # Mage's frame reads them; nothing writes them here
            ("/api/pipelines/%s" % DEMO_PIPELINE, ["POST", "PUT", "DELETE"],
             {"GET", "OPTIONS"}),
            ("/api/pipelines/%s/variables" % DEMO_PIPELINE,
             ["POST", "PUT", "DELETE"], {"GET", "OPTIONS"}),
            ("/api/statuses", ["POST", "PUT", "DELETE"], {"GET", "OPTIONS"}),
            ("/api/projects", ["POST", "PUT", "DELETE"], {"GET", "OPTIONS"}),
            # an executor's claim
            ("/api/pipeline_runs/claim", ["GET", "PUT", "DELETE"],
             {"POST", "OPTIONS"}),
        ]
        for path, methods, allow in cases:
            for m in methods:
                with self.subTest(method=m, path=path), self.unchanged():
                    body = OK_BODY if m in ("POST", "PUT", "PATCH") else None
                    r = self.req(m, path, body)
                    self.assertError(r, 405, "method_not_allowed")
                    a = r.header("Allow")
                    self.assertIsNotNone(a, "no Allow header: %r" % r)
                    self.assertEqual({x.strip() for x in a.split(",")},
                                     allow, a)

    def test_allow_exact_text(self):
        r = self.req("PATCH", "/api/backfills/%d" % DEMO_ID, OK_BODY)
        self.assertEqual(r.header("Allow"), "GET, PUT, DELETE, OPTIONS")
        r = self.req("DELETE", "/api/pipelines/x/backfills")
        self.assertEqual(r.header("Allow"), "GET, POST, OPTIONS")
        r = self.req("DELETE", "/api/backfills")
        self.assertEqual(r.header("Allow"), "GET, OPTIONS")
        r = self.req("DELETE", "/api/status")
        self.assertEqual(r.header("Allow"), "GET, OPTIONS")

    def test_post_flat_list_is_405(self):
        with self.unchanged():
            r = self.req("POST", "/api/backfills",
                         {"backfill": {"name": "flat"}})
            self.assertError(r, 405, "method_not_allowed")

    # -- OPTIONS ---------------------------------------------------------

    def test_options_any_path(self):
        # (a path no route has gets no Access-Control-Allow-Methods: it
        # says what the route takes, as Allow does)
        for p in ("/api/backfills", "/api/backfills/%d" % DEMO_ID,
                  "/api/pipelines/%s/backfills" % DEMO_PIPELINE,
                  "/api/pipelines/%s/backfills/%d" % (DEMO_PIPELINE, DEMO_ID),
                  "/api/status", "/api/pipelines/no_such/backfills"):
            for auth in (True, False):
                with self.subTest(path=p, auth=auth), self.unchanged():
                    r = self.req("OPTIONS", p, auth=auth,
                                 headers={"Origin": "http://example.com",
                                          "Access-Control-Request-Method":
                                          "PUT"})
                    self.assertEqual(r.status, 204, r)
                    self.assertEqual(r.body, b"")
                    for h in ("Access-Control-Allow-Origin",
                              "Access-Control-Allow-Methods",
                              "Access-Control-Allow-Headers"):
                        self.assertTrue(r.header(h), "%s missing: %r"
                                        % (h, r.headers))
                    # the methods CORS allows are the route's, as Allow
                    self.assertEqual(
                        r.header("Access-Control-Allow-Methods"),
                        r.header("Allow"))
        for p in ("/api/nope", "/api/backfills/abc"):
            with self.subTest(path=p), self.unchanged():
                r = self.req("OPTIONS", p,
                             headers={"Origin": "http://example.com"})
                self.assertEqual(r.status, 204, r)
                self.assertIsNone(r.header("Allow"))
                self.assertIsNone(r.header("Access-Control-Allow-Methods"))
