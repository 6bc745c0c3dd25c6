"""The database read-only. Root ignores permissions, so the worker runs
as plain CGI as user nobody (setpriv) against a database owned by root,
mode 0644:

- in a folder nobody may enter but not write, while another process has
  the database open (its -wal and -shm exist): reads and /api/status
  answer 200; every write answers a JSON 503 and changes nothing;
- the same folder with the database closed (no -wal, -shm): SQLite cannot
  read a WAL database it may not write beside, so reads answer a JSON
  503 as well and /api/status says so (503); nothing changes;
- in a folder nobody may write (the database file alone read-only): as
  the first case."""

import hashlib
import os
import pwd
import sqlite3
import unittest

from common import (PIPELINE, FaultCase, cgi, dump, make_db, tempdir,
                    write_conf)

NOBODY = ("nobody", "nogroup")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TestReadOnly(FaultCase):

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (to run the worker as "
                                    "nobody)")
        pwd.getpwnam("nobody")

    def setup_db(self, d):
        db = os.path.join(d, "backfills.db")
        conf = os.path.join(d, "backfills.conf")
        make_db(db)
        write_conf(conf, db)
        os.chmod(db, 0o644)
        os.chmod(conf, 0o644)
        return db, conf

    def run_as_nobody(self, conf, db, reads_work):
        before, before_sum = dump(db), digest(db)
        # reads
        r, err = cgi(conf, "GET", "/api/backfills/6", user=NOBODY)
        if reads_work:
            self.assertEqual(r.status, 200, "%r\n%s" % (r, err))
            self.assertEqual(r.json["backfill"]["id"], 6)
            r, err = cgi(conf, "GET", "/api/backfills?_limit=5", user=NOBODY)
            self.assertEqual(r.status, 200, "%r\n%s" % (r, err))
        else:
            self.assertUnavailable(r, "GET")
        s, err = cgi(conf, "GET", "/api/status", user=NOBODY)
        if reads_work:
            self.assertEqual(s.status, 200, "%r\n%s" % (s, err))
        else:
            self.assertUnavailable(s, "/api/status")
        # writes: refused, JSON, nothing changed
        for method, path, body in (
                ("PUT", "/api/backfills/6", {"backfill": {"name": "ro"}}),
                ("PUT", "/api/pipelines/%s/backfills/6" % PIPELINE,
                 {"backfill": {"status": "initial",
                               "start_datetime": "2023-01-01",
                               "end_datetime": "2023-01-02",
                               "interval_type": "day",
                               "interval_units": 1}}),
                ("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                 {"backfill": {"name": "ro-new"}}),
                ("DELETE", "/api/backfills/6", None)):
            r, err = cgi(conf, method, path, body if body else b"",
                         user=NOBODY)
            self.assertUnavailable(r, "%s %s (%s)" % (method, path,
                                                      err[-300:]))
        self.assertEqual(digest(db), before_sum, "database file changed")
        self.assertEqual(dump(db), before)

    def test_readonly_folder_database_in_use(self):
        with tempdir("bf-fault-ro-", 0o755) as d:
            db, conf = self.setup_db(d)
            # another process (root) has it open: -wal and -shm exist
            holder = sqlite3.connect(db)
            try:
                holder.execute("SELECT count(*) FROM backfill").fetchall()
                for suffix in ("-wal", "-shm"):
                    self.assertTrue(os.path.exists(db + suffix))
                    os.chmod(db + suffix, 0o644)
                self.run_as_nobody(conf, db, reads_work=True)
            finally:
                holder.close()

    def test_readonly_folder_database_closed(self):
        with tempdir("bf-fault-ro-", 0o755) as d:
            db, conf = self.setup_db(d)
            self.assertFalse(os.path.exists(db + "-shm"))
            self.run_as_nobody(conf, db, reads_work=False)
            self.assertFalse(os.path.exists(db + "-shm"))

    def test_readonly_file_writable_folder(self):
        with tempdir("bf-fault-ro-", 0o755) as d:
            db, conf = self.setup_db(d)
            sub = os.path.join(d, "data")
            os.mkdir(sub)
            os.rename(db, os.path.join(sub, "backfills.db"))
            db = os.path.join(sub, "backfills.db")
            write_conf(conf, db)
            os.chmod(conf, 0o644)
            pw = pwd.getpwnam("nobody")
            os.chown(sub, pw.pw_uid, pw.pw_gid)
            os.chmod(sub, 0o755)
            self.run_as_nobody(conf, db, reads_work=True)
