#!/usr/bin/env python3
"""
What the PostgreSQL store does beyond the end-to-end suite (which
run_e2e.py runs on it unchanged):

- the schema: created by `backfillctl init` (once, however many run at
  the same time), a database without it refused, a newer one refused;
- connections: one killed by the server is replaced without an error;
  a server that is down gives 503 + Retry-After, and serving resumes
  when it is back;
- `backfillctl copy`: SQLite -> PostgreSQL -> SQLite keeps every record
  (ids, versions, fields, runs and their attempts, credentials), the
  service answers the same on both, and a target that is not empty is
  refused.

Run: python3 tests/pg/test_pg_store.py [-v] (uses $PG_DIR's server, or
starts a throwaway one; the server-down test always starts its own).
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "e2e")))
sys.path.insert(0, HERE)

import harness          # noqa: E402
import pgtest           # noqa: E402

PG = pgtest.PgServer()


def setUpModule():
    PG.start()


def tearDownModule():
    PG.stop()


def ctl(db, *args):
    """backfillctl [--db db] args..."""
    cmd = [harness.CTL_BIN] + (["--db", db] if db else []) + list(args)
    return subprocess.run(cmd, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=harness.ROOT)


class PgServerCase(unittest.TestCase):
    """A fresh database per test."""

    def setUp(self):
        self.name = PG.createdb("st")
        self.uri = PG.uri(self.name)
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        PG.dropdb(self.name)

    def serve(self, db=None, extra="", workers=2):
        s = harness.Server(extra, workers=workers, name="pgstore")
        s.db = db or self.uri
        self.servers.append(s)
        return s.start()


class TestSchema(PgServerCase):

    def test_no_schema_refused_then_init_twice(self):
        p = ctl(self.uri, "pipeline", "list")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no backfills schema", p.stderr)
        self.assertIn(b"init", p.stderr)
        for _ in range(2):
            p = ctl(self.uri, "init")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"schema version %d" % harness.SCHEMA_VERSION,
                          p.stdout)
        p = ctl(self.uri, "pipeline", "list")
        self.assertEqual((p.returncode, p.stdout), (0, b""))
        self.assertEqual(PG.psql("SELECT version FROM schema_version",
                                 self.name).split(),
                         [str(harness.SCHEMA_VERSION)])

    def test_concurrent_inits_migrate_once(self):
        ps = [subprocess.Popen([harness.CTL_BIN, "--db", self.uri, "init",
                                "--demo"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
              for _ in range(8)]
        for p in ps:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
        self.assertEqual(PG.psql("SELECT count(*), max(version) FROM "
                                 "schema_version", self.name).split(),
                         ["1", str(harness.SCHEMA_VERSION)])
        p = ctl(self.uri, "pipeline", "list")
        self.assertEqual(p.stdout.count(b"arwen_starlight"), 1)
        p = ctl(self.uri, "check")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_newer_schema_refused(self):
        self.assertEqual(ctl(self.uri, "init").returncode, 0)
        PG.psql("UPDATE schema_version SET version = 99", self.name)
        p = ctl(self.uri, "check")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"newer", p.stderr)
        # the worker refuses to start at all
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("database = %s\nrequire_authentication = off\n"
                    % self.uri)
            f.flush()
            p = subprocess.run([harness.FCGI_BIN, "-c", f.name],
                               capture_output=True, timeout=30,
                               stdin=subprocess.DEVNULL,
                               env={"PATH": os.environ.get("PATH", "")})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"newer", p.stderr)

    def test_explicit_id_then_the_sequence(self):
        self.assertEqual(ctl(self.uri, "init", "--demo").returncode, 0)
        s = self.serve()
        r = s.request("POST", "/api/pipelines/arwen_starlight/backfills",
                      {"backfill": {"name": "after 6"}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["backfill"]["id"], 7)


class TestConnections(PgServerCase):

    def test_killed_connections_are_replaced(self):
        self.assertEqual(ctl(self.uri, "init", "--demo").returncode, 0)
        s = self.serve(workers=3)
        for _ in range(6):      # every worker connected
            self.assertEqual(s.request("GET", "/api/backfills/6").status,
                             200)
        killed = PG.psql("SELECT count(pg_terminate_backend(pid)) FROM "
                         "pg_stat_activity WHERE datname = '%s' AND "
                         "application_name = 'backfills'" % self.name)
        self.assertGreaterEqual(int(killed), 1)
        for i in range(9):
            r = s.request("PUT", "/api/backfills/6",
                          {"backfill": {"name": "after kill %d" % i}})
            self.assertEqual(r.status, 200, r)
        self.assertEqual(s.request("GET", "/api/status").status, 200)


class TestServerDown(unittest.TestCase):
    """Its own PostgreSQL server, stopped and started under the service."""

    def setUp(self):
        saved = os.environ.pop("PG_DIR", None)
        try:
            self.pg = pgtest.PgServer().start()
        finally:
            if saved is not None:
                os.environ["PG_DIR"] = saved
        self.name = self.pg.createdb("down")
        self.uri = self.pg.uri(self.name)
        self.assertEqual(ctl(self.uri, "init", "--demo").returncode, 0)
        self.server = harness.Server("busy_timeout = 500", workers=2,
                                     name="pgdown")
        self.server.db = self.uri
        self.server.start()

    def tearDown(self):
        self.server.stop()
        self.pg.stop()

    def test_503_while_down_then_serves(self):
        s = self.server
        self.assertEqual(s.request("GET", "/api/backfills/6").status, 200)
        subprocess.run([pgtest.PG_SERVER, "halt", self.pg.dir], check=True,
                       timeout=60)
        try:
            for method, path, body in (
                    ("GET", "/api/backfills/6", None),
                    ("PUT", "/api/backfills/6",
                     {"backfill": {"name": "down"}}),
                    ("GET", "/api/status", None)):
                r = s.request(method, path, body, timeout=30)
                self.assertEqual(r.status, 503, r)
                self.assertEqual(r.json["error"]["type"], "unavailable")
                self.assertIsNotNone(r.header("Retry-After"), r)
        finally:
            subprocess.run([pgtest.PG_SERVER, "resume", self.pg.dir],
                           check=True, timeout=60)
        ok = 0
        for _ in range(50):
            r = s.request("PUT", "/api/backfills/6",
                          {"backfill": {"name": "back"}})
            if r.status == 200:
                ok += 1
                if ok == 4:
                    break
            else:
                self.assertEqual(r.status, 503, r)
                time.sleep(0.1)
        self.assertEqual(ok, 4, "not serving again")
        self.assertEqual(s.request("GET", "/api/status").status, 200)


class TestCopy(PgServerCase):
    """SQLite -> PostgreSQL -> SQLite through backfillctl copy."""

    def make_data(self, s):
        """Every kind of record, through the API and backfillctl."""
        def call(method, path, body=None, expect=200):
            r = s.request(method, path, body)
            self.assertEqual(r.status, expect, r)
            return r.json

        s.ctl("pipeline", "add", "p_vars", "--variables",
              '{"env": "prod", "n": 3}', check=True)
        plan = {"start_datetime": "2023-01-01", "end_datetime":
                "2023-01-05", "interval_type": "day", "interval_units": 1}
        ids = []
        for i in range(6):
            b = call("POST", "/api/pipelines/%s/backfills" %
                     ("p_vars" if i % 2 else "arwen_starlight"),
                     {"backfill": dict(plan, name="b%d" % i,
                                       settings={"i": i},
                                       variables={"v": i},
                                       block_uuid="blk%d" % i)},
                     expect=201)["backfill"]
            ids.append(b["id"])
        for i in range(5):              # versions above 1
            call("PUT", "/api/backfills/%d" % ids[0],
                 {"backfill": {"name": "renamed %d" % i}})
        # started, runs reported, a failure, a retry (attempts superseded)
        call("PUT", "/api/backfills/%d" % ids[1],
             {"backfill": {"status": "initial"}})
        runs = call("GET", "/api/pipeline_runs?backfill_id=%d" % ids[1])[
            "pipeline_runs"]
        for r, final in zip(runs, ["completed", "failed", "completed",
                                   None, None]):
            call("PUT", "/api/pipeline_runs/%d" % r["id"],
                 {"pipeline_run": {"status": "running"}})
            if final:
                call("PUT", "/api/pipeline_runs/%d" % r["id"],
                     {"pipeline_run": {"status": final}})
        call("PUT", "/api/backfills/%d" % ids[1],
             {"backfill": {"status": "failed"}})
        call("PUT", "/api/backfills/%d" % ids[1],
             {"backfill": {"status": "initial"}})      # retry
        # one cancelled, one deleted (a gap in the ids), one completed
        call("PUT", "/api/backfills/%d" % ids[2],
             {"backfill": {"status": "initial"}})
        call("PUT", "/api/backfills/%d" % ids[2],
             {"backfill": {"status": "cancelled"}})
        call("DELETE", "/api/backfills/%d" % ids[3])
        call("PUT", "/api/backfills/%d" % ids[4],
             {"backfill": {"status": "initial"}})
        for r in call("GET", "/api/pipeline_runs?backfill_id=%d" %
                      ids[4])["pipeline_runs"]:
            for st in ("running", "completed"):
                call("PUT", "/api/pipeline_runs/%d" % r["id"],
                     {"pipeline_run": {"status": st}})
        # credentials: one more key, one revoked
        s.ctl("key", "add", "copied-key-0123456789abcdef", "--name",
              "kept", check=True)
        s.ctl("key", "add", "revoked-key-0123456789abcdef", "--name",
              "gone", check=True)
        s.ctl("key", "revoke", "revoked-key-0123456789abcdef", check=True)
        return ids

    def snapshot(self, s):
        """What the service answers about everything, run ids aside."""
        out = {}
        lst = s.request("GET", "/api/backfills?_limit=1000").json
        out["list"] = lst
        for b in lst["backfills"]:
            r = s.request("GET", "/api/backfills/%d?include_run_count=1"
                          % b["id"])
            out[b["id"]] = (r.json, r.header("ETag"))
            runs = s.request("GET", "/api/pipeline_runs?backfill_id=%d&"
                             "_limit=1000" % b["id"]).json
            for run in runs["pipeline_runs"]:
                del run["id"]
            out["runs %d" % b["id"]] = runs
        out["keys"] = [l.split("\t", 1)[1] for l in
                       s.ctl("key", "list").stdout.decode().splitlines()]
        out["pipelines"] = s.ctl("pipeline", "list").stdout
        out["stats"] = s.ctl("stats").stdout
        return out

    def sqlite_rows(self, path, table, cols):
        con = sqlite3.connect(path)
        try:
            return con.execute("SELECT %s FROM %s ORDER BY 1, 2" %
                               (cols, table)).fetchall()
        finally:
            con.close()

    def test_round_trip(self):
        lite = harness.Server(workers=2, name="lite").start()    # SQLite
        self.servers.append(lite)
        self.make_data(lite)
        before = self.snapshot(lite)

        p = ctl(None, "copy", "--from", lite.db, "--to", self.uri)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"counts verified", p.stdout)
        pg = self.serve()
        self.assertEqual(self.snapshot(pg), before)
        # the copied credentials work (the demo's), the revoked does not
        r = pg.request("GET", "/api/backfills", headers={
            "X-API-KEY": "revoked-key-0123456789abcdef"})
        self.assertEqual(r.status, 401, r)
        r = pg.request("GET", "/api/backfills", headers={
            "X-API-KEY": "copied-key-0123456789abcdef"})
        self.assertEqual(r.status, 200, r)
        # new records continue after the copied ids
        r = pg.request("POST", "/api/pipelines/arwen_starlight/backfills",
                       {"backfill": {"name": "new on pg"}})
        self.assertEqual(r.status, 201, r)
        self.assertGreater(r.json["backfill"]["id"],
                           max(k for k in before if isinstance(k, int)))
        r = pg.request("DELETE", "/api/backfills/%d" %
                       r.json["backfill"]["id"])
        self.assertEqual(r.status, 200, r)

        # and back into a new SQLite file: the same rows
        back = os.path.join(lite.tmp, "back.db")
        p = ctl(None, "copy", "--from", self.uri, "--to", back)
        self.assertEqual(p.returncode, 0, p.stderr)
        bcols = ("id, version, pipeline_uuid, block_uuid, completed_at, "
                 "created_at, end_datetime, failed_at, interval_type, "
                 "interval_units, metrics, name, pipeline_schedule_id, "
                 "settings, start_datetime, started_at, status, "
                 "updated_at, variables")
        rcols = ("backfill_id, execution_date, id, pipeline_uuid, status, "
                 "variables, started_at, completed_at, created_at, "
                 "updated_at, latest")
        self.assertEqual(self.sqlite_rows(back, "backfill", bcols),
                         self.sqlite_rows(lite.db, "backfill", bcols))
        strip = lambda rows: [r[:2] + r[3:] for r in rows]  # noqa: E731
        self.assertEqual(strip(self.sqlite_rows(back, "pipeline_run",
                                                rcols)),
                         strip(self.sqlite_rows(lite.db, "pipeline_run",
                                                rcols)))
        for t, c in (("pipeline", "uuid, variables, backfill_count"),
                     ("run_count", "backfill_id, initial, running, "
                      "completed, failed, cancelled"),
                     ("credential", "kind, hash, name, role, expires_at, "
                      "created_at, revoked_at")):
            self.assertEqual(self.sqlite_rows(back, t, c),
                             self.sqlite_rows(lite.db, t, c), t)
        p = ctl(back, "check")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_refuses_a_target_that_is_not_empty(self):
        lite = harness.Server(workers=1, name="lite2").start()
        self.servers.append(lite)
        self.assertEqual(ctl(self.uri, "init", "--demo").returncode, 0)
        before = PG.dump(self.name)
        p = ctl(None, "copy", "--from", lite.db, "--to", self.uri)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"not empty", p.stderr)
        self.assertEqual(PG.dump(self.name), before)
        p = ctl(None, "copy", "--from",
                os.path.join(lite.tmp, "missing.db"), "--to", self.uri)
        self.assertEqual(p.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(lite.tmp,
                                                     "missing.db")))

    def test_copy_while_the_source_is_written(self):
        """The copy reads one snapshot: its counts verify while writers
        go on."""
        lite = harness.Server(workers=2, name="lite3").start()
        self.servers.append(lite)
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                lite.request("POST", "/api/pipelines/arwen_starlight/"
                             "backfills", {"backfill": {"name": "w"}})

        t = threading.Thread(target=writer)
        t.start()
        try:
            time.sleep(0.3)
            p = ctl(None, "copy", "--from", lite.db, "--to", self.uri)
        finally:
            stop.set()
            t.join()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"counts verified", p.stdout)


if __name__ == "__main__":
    unittest.main()
