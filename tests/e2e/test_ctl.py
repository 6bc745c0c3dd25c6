"""backfillctl pipeline commands, run while the server runs; their
effects seen through the API."""

import os
import subprocess
import tempfile
import shutil
import unittest

from harness import ServerTestCase, CTL_BIN, DEMO_PIPELINE, ROOT


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
        self.assertEqual(p.returncode, 2)
        self.assertTrue(p.stderr.decode().startswith(
            "backfillctl: unknown command frobnicate\nusage:"), p.stderr)
        self.assertEqual(p.stdout, b"")


def ctl(*args, cwd=None):
    return subprocess.run([CTL_BIN] + list(args), capture_output=True,
                          timeout=30, stdin=subprocess.DEVNULL, cwd=cwd)


class TestCtlHelps(unittest.TestCase):
    """What issue 15 asks of the command line: help, version, exit
    statuses, errors that say what to do."""

    COMMANDS = ("init", "pipeline", "key", "token", "backup", "check",
                "stats", "seed", "copy")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bf-ctl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_help_lists_every_command_on_stdout(self):
        for flag in ("--help", "-h"):
            p = ctl(flag)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, b"")
            out = p.stdout.decode()
            self.assertTrue(out.startswith("usage: backfillctl"), out)
            for c in self.COMMANDS:
                self.assertRegex(out, r"(?m)^  %s\b" % c)

    def test_command_help_is_its_own_lines(self):
        for c in self.COMMANDS:
            with self.subTest(command=c):
                # no database needed, none touched
                p = ctl("--db", os.path.join(self.tmp, "none.db"), c,
                        "--help")
                self.assertEqual(p.returncode, 0, p.stderr)
                lines = [ln for ln in p.stdout.decode().splitlines()
                         if ln.startswith("  ") and ln[2] != " "]
                self.assertTrue(lines)
                for ln in lines:
                    self.assertTrue(ln.startswith("  %s" % c), ln)
                self.assertFalse(os.path.exists(
                    os.path.join(self.tmp, "none.db")))

    def test_version(self):
        p = ctl("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        self.assertEqual(p.stdout.decode(), "backfillctl %s\n" % version)

    def test_usage_errors_exit_2(self):
        db = os.path.join(self.tmp, "x.db")
        self.assertEqual(ctl("--db", db, "init").returncode, 0)
        for args in (["--frob"], [], ["--db"], ["pipeline"],
                     ["pipeline", "add"], ["pipeline", "remove", "p", "-x"],
                     ["key", "add", "--bogus"], ["key", "revoke"],
                     ["token", "issue", "--role"], ["seed"],
                     ["check", "extra"], ["copy", "--from", db]):
            with self.subTest(args=args):
                full = args if args[:1] in (["--frob"], [], ["--db"]) \
                    else ["--db", db] + args
                p = ctl(*full)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertIn(b"usage: backfillctl", p.stderr)

    def test_failures_exit_1_with_one_line(self):
        db = os.path.join(self.tmp, "x.db")
        self.assertEqual(ctl("--db", db, "init").returncode, 0)
        for args in (["pipeline", "remove", "nope"],
                     ["key", "revoke", "99"],
                     ["token", "issue", "--role", "god"],
                     ["pipeline", "add", "bad uuid"]):
            with self.subTest(args=args):
                p = ctl("--db", db, *args)
                self.assertEqual(p.returncode, 1, (p.stdout, p.stderr))
                err = p.stderr.decode()
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertTrue(err.startswith("backfillctl: "), err)

    def test_missing_database_says_run_init(self):
        db = os.path.join(self.tmp, "x.db")
        p = ctl("--db", db, "stats")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.decode(), "backfillctl: no database at "
                         "%s: create it with backfillctl --db %s init\n"
                         % (db, db))
        self.assertFalse(os.path.exists(db))
        conf = os.path.join(self.tmp, "c.conf")
        with open(conf, "w") as f:
            f.write("database = sub/y.db\n")
        os.mkdir(os.path.join(self.tmp, "sub"))
        p = ctl("--conf", conf, "stats")
        self.assertEqual(p.stderr.decode(), "backfillctl: no database at "
                         "%s/sub/y.db: create it with backfillctl --conf "
                         "%s init\n" % (os.path.realpath(self.tmp), conf))
        p = ctl("--db", os.path.join(self.tmp, "no", "x.db"), "init")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no folder %s/no" % self.tmp, p.stderr.decode())

    def test_an_error_names_the_path_once(self):
        # a folder where the database should be: SQLite cannot open it
        db = os.path.join(self.tmp, "adir")
        os.mkdir(db)
        p = ctl("--db", db, "stats")
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertEqual(err.count(db), 1, err)

    def test_init_takes_others_off_the_conf_it_writes_a_secret_to(self):
        conf = os.path.join(self.tmp, "c.conf")
        with open(conf, "w") as f:
            f.write("database = x.db\nrequire_authentication = on\n")
        os.chmod(conf, 0o644)
        p = ctl("--conf", conf, "init")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.stat(conf).st_mode & 0o777, 0o640)
        out = p.stdout.decode()
        self.assertIn("made %s mode 0640" % conf, out)
        with open(conf) as f:
            self.assertRegex(f.read(), r"(?m)^jwt_secret = \S{40,}$")
        # a conf with a secret already is left alone
        os.chmod(conf, 0o644)
        p = ctl("--conf", conf, "init")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.stat(conf).st_mode & 0o777, 0o644)

    def test_revoking_twice_says_so(self):
        db = os.path.join(self.tmp, "x.db")
        self.assertEqual(ctl("--db", db, "init").returncode, 0)
        p = ctl("--db", db, "token", "issue", "--role", "viewer")
        self.assertEqual(p.returncode, 0, p.stderr)
        tid = p.stdout.decode().split()[2].rstrip(",")
        p = ctl("--db", db, "token", "revoke", tid)
        self.assertEqual((p.returncode, p.stdout.decode()),
                         (0, "revoked token %s\n" % tid))
        p = ctl("--db", db, "token", "revoke", tid)
        self.assertEqual((p.returncode, p.stdout.decode()),
                         (0, "token %s was already revoked\n" % tid))
        listed = ctl("--db", db, "token", "list").stdout.decode()
        self.assertIn("revoked", listed)
