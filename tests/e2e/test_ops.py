"""backfillctl's operations on a live database (issue 7): backup while
the service writes, check, stats; and the schema version refusals."""

import os
import sqlite3
import threading

from harness import ServerTestCase


class TestOps(ServerTestCase):

    def test_backup_while_writing(self):
        ids, stop = [], threading.Event()

        def writer():
            while not stop.is_set():
                r = self.req("POST", "/api/pipelines/arwen_starlight/backfills",
                             {"backfill": {"name": "during backup"}})
                if r.status == 201:
                    ids.append(r.json["backfill"]["id"])

        t = threading.Thread(target=writer)
        t.start()
        try:
            before = self.req("GET", "/api/backfills").json["metadata"]["count"]
            dest = os.path.join(self.server.tmp, "copy.db")
            p = self.server.ctl("backup", dest)
        finally:
            stop.set()
            t.join()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(ids, "no write happened during the backup")
        # The copy is a consistent database that holds at least what was
        # there when the backup started, and passes the integrity check.
        c = sqlite3.connect(dest)
        self.assertEqual(c.execute("PRAGMA integrity_check").fetchone()[0],
                         "ok")
        n = c.execute("SELECT count(*) FROM backfill").fetchone()[0]
        c.close()
        self.assertGreaterEqual(n, before)
        p = self.server.ctl("--db", dest, "check")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"integrity ok", p.stdout)
        # A second backup to the same file is refused, the file untouched.
        size = os.path.getsize(dest)
        p = self.server.ctl("backup", dest)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"exists already", p.stderr)
        self.assertEqual(os.path.getsize(dest), size)

    def test_check(self):
        p = self.server.ctl("check")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"integrity ok", p.stdout)
        self.assertIn(b"schema version", p.stdout)

    def test_stats_match_the_api(self):
        rec = self.create(name="stats", start_datetime="2023-01-01",
                          end_datetime="2023-01-03", interval_type="day",
                          interval_units=1)
        self.put_ok(rec["id"], {"status": "initial"})
        p = self.server.ctl("stats")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = dict(l.rsplit("\t", 1) for l in
                     p.stdout.decode().strip().splitlines())
        total = self.req("GET", "/api/backfills").json["metadata"]["count"]
        by_status = sum(int(v) for k, v in lines.items()
                        if k.startswith("backfills "))
        self.assertEqual(by_status, total)
        self.assertGreaterEqual(int(lines["backfills initial"]), 1)
        self.assertGreaterEqual(int(lines["runs initial"]), 3)

    def test_newer_schema_refused(self):
        dest = os.path.join(self.server.tmp, "newer.db")
        c = sqlite3.connect(dest)
        c.execute("PRAGMA user_version = 99")
        c.close()
        p = self.server.ctl("--db", dest, "check")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"newer", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
