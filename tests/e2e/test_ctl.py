"""backfillctl pipeline commands, run while the server runs; their
effects seen through the API."""

import os
import subprocess
import tempfile
import shutil

from harness import ServerTestCase, CTL_BIN, DEMO_PIPELINE


class TestCtlPipelines(ServerTestCase):

    def nested(self, uuid):
        return self.req("GET", "/api/pipelines/%s/backfills" % uuid)

    def one_line_reason(self, p):
        err = p.stderr.decode("utf-8", "replace").strip()
        self.assertTrue(err, "no reason given on stderr")
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_add_then_visible(self):
        self.assertError(self.nested("ctl_add"), 404, "record_not_found")
        p = self.server.ctl("pipeline", "add", "ctl_add")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.nested("ctl_add")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["count"], 0)
        rec = self.create("ctl_add", name="x")
        self.assertEqual(rec["pipeline_uuid"], "ctl_add")

    def test_list(self):
        self.server.ctl("pipeline", "add", "ctl_listed", check=True)
        p = self.server.ctl("pipeline", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("ctl_listed", out)
        self.assertIn(DEMO_PIPELINE, out)

    def test_add_with_variables(self):
        p = self.server.ctl("pipeline", "add", "ctl_vars", "--variables",
                            '{"a": 1, "b": "two"}')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.nested("ctl_vars").status, 200)

    def test_add_invalid_refused(self):
        for args in (["ctl_badjson", "--variables", "{not json"],
                     ["bad uuid"], ["bad/uuid"], ["x" * 256], [""]):
            with self.subTest(args=[a[:20] for a in args]), \
                    self.unchanged():
                p = self.server.ctl("pipeline", "add", *args)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.one_line_reason(p)
        self.assertError(self.nested("ctl_badjson"), 404, "record_not_found")

    def test_remove_empty(self):
        self.server.ctl("pipeline", "add", "ctl_empty", check=True)
        p = self.server.ctl("pipeline", "remove", "ctl_empty")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertError(self.nested("ctl_empty"), 404, "record_not_found")
        self.assertNotIn("ctl_empty", self.server.ctl(
            "pipeline", "list").stdout.decode().split())

    def test_remove_refused_with_backfills_then_force(self):
        self.server.ctl("pipeline", "add", "ctl_busy", check=True)
        a = self.create("ctl_busy", name="a")["id"]
        b = self.create("ctl_busy", name="b", start_datetime="2023-01-01",
                        end_datetime="2023-01-02", interval_type="day",
                        interval_units=1)["id"]
        self.put_ok(b, {"status": "initial"})
        with self.unchanged():
            p = self.server.ctl("pipeline", "remove", "ctl_busy")
            self.assertNotEqual(p.returncode, 0)
            self.one_line_reason(p)
        self.assertEqual(self.nested("ctl_busy").json["metadata"]["count"], 2)
        p = self.server.ctl("pipeline", "remove", "ctl_busy", "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertError(self.nested("ctl_busy"), 404, "record_not_found")
        for bid in (a, b):
            self.assertError(self.req("GET", "/api/backfills/%d" % bid), 404,
                             "record_not_found")
        lst = self.req("GET", "/api/backfills?_limit=1000").json
        self.assertFalse({a, b} & {x["id"] for x in lst["backfills"]})
        r = self.req("GET", "/api/backfills?pipeline_uuid=ctl_busy")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["count"], 0)
        self.assertAlive()


class TestCtlInit(ServerTestCase):
    """init on a fresh file, and init --demo, outside any server."""

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def test_init_fresh_and_again(self):
        tmp = tempfile.mkdtemp(prefix="bf-init-")
        try:
            db = os.path.join(tmp, "x.db")
            run = lambda *a: subprocess.run(   # noqa: E731
                [CTL_BIN, "--db", db] + list(a), capture_output=True,
                timeout=30, stdin=subprocess.DEVNULL)
            p = run("init")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(os.path.exists(db))
            p = run("pipeline", "list")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn(DEMO_PIPELINE, p.stdout.decode())
            p = run("init")      # migrating an up-to-date file is fine
            self.assertEqual(p.returncode, 0, p.stderr)
            db = os.path.join(tmp, "demo.db")
            p = run("init", "--demo")
            self.assertEqual(p.returncode, 0, p.stderr)
            p = run("pipeline", "list")
            self.assertIn(DEMO_PIPELINE, p.stdout.decode())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_unknown_command(self):
        p = subprocess.run([CTL_BIN, "frobnicate"], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip())
