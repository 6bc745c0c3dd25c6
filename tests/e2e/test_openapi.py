"""The API's description at /api/openapi.json (docs/openapi.yaml as JSON,
built into the worker by src/openapi_embed.c): public, the build's JSON
(build/openapi.json) byte for byte, of the service's version, cached by
its ETag (If-None-Match: 304), and with the router's paths and methods
exactly (src/router.c), each path's OPTIONS answering its methods.

make openapi-check lints the description and checks every answer this
suite records (E2E_RECORD) against it; the OPTIONS of every path here
are among them."""

import json
import os
import re

from harness import ServerTestCase, ROOT, DEMO_PIPELINE, DEMO_ID

PATH = "/api/openapi.json"
SERVED = os.path.join(ROOT, "build", "openapi.json")
METHODS = ("get", "post", "put", "delete", "options")
ALLOW_ORDER = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
# A value for each path parameter that names something of the demo's.
EXAMPLES = {"id": str(DEMO_ID), "pipeline_uuid": DEMO_PIPELINE,
            "name": "main"}


def router_routes():
    """{path with {} for its parameters: {methods}} of src/router.c's
    routes table (OPTIONS, and HEAD beside GET, are every route's)."""
    with open(os.path.join(ROOT, "src", "router.c")) as f:
        text = f.read()
    table = text[text.index("routes[ROUTE__MAX] = {"):]
    table = table[:table.index("\n};")]
    out = {}
    for segs, bits in re.findall(r"\[ROUTE_\w+\]\s*=\s*\{\s*\{([^}]*)\}\s*,"
                                 r"\s*([^}]*)\}", table):
        parts = re.findall(r'"([^"]*)"', segs)
        path = "/" + "/".join("{}" if p.startswith(":") else p
                              for p in parts)
        out[path] = set(re.findall(r"M_BIT\(M_(\w+)\)", bits))
    return out


class TestOpenapi(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(SERVED, "rb") as f:
            cls.built = f.read()
        cls.doc = json.loads(cls.built)

    def test_served_without_credentials_as_built(self):
        # (the demo conf asks every other route for credentials)
        r = self.req("GET", PATH, auth=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.body, self.built)
        self.assertRegex(r.json["openapi"], r"^3\.1\.\d+$")
        with open(os.path.join(ROOT, "VERSION")) as f:
            self.assertEqual(r.json["info"]["version"], f.read().strip())
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertTrue(r.header("X-Request-Id"))
        self.assertEqual(self.req("GET", "/api/backfills",
                                  auth=False).status, 401)

    def test_etag_and_not_modified(self):
        r = self.req("GET", PATH)
        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
            with self.subTest(if_none_match=inm):
                r = self.req("GET", PATH, headers={"If-None-Match": inm})
                self.assertEqual(r.status, 304, r)
                self.assertEqual(r.body, b"")
                self.assertEqual(r.header("ETag"), etag)
                self.assertEqual(r.header("Cache-Control"), "no-cache")
        r = self.req("GET", PATH, headers={"If-None-Match": '"other"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, self.built)
        r = self.req("HEAD", PATH)
        self.assertEqual((r.status, r.body), (200, b""), r)
        self.assertEqual(r.header("ETag"), etag)

    def test_other_methods(self):
        for m in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=m):
                r = self.req(m, PATH, {} if m != "DELETE" else None)
                self.assertError(r, 405, "method_not_allowed")
                self.assertEqual(r.header("Allow"), "GET, OPTIONS")
                self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_paths_and_methods_are_the_routers(self):
        described = {}
        for template, item in self.doc["paths"].items():
            path = re.sub(r"\{[^}]*\}", "{}", template)
            described[path] = {m.upper() for m in METHODS
                               if m in item and m != "options"}
            self.assertIn("options", item, template)
        self.assertEqual(described, router_routes())

    def test_options_of_every_path(self):
        for template, item in self.doc["paths"].items():
            path = re.sub(r"\{([^}]*)\}", lambda m: EXAMPLES[m.group(1)],
                          template)
            with self.subTest(path=path):
                r = self.req("OPTIONS", path, auth=False)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.header("Allow"), ", ".join(
                    m for m in ALLOW_ORDER if m.lower() in item))
