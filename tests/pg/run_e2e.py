#!/usr/bin/env python3
"""
The end-to-end suite of tests/e2e, unchanged, against PostgreSQL: every
Server of the harness gets a fresh database on the throwaway server
($PG_DIR, or one started here) instead of a SQLite file, and the few
tests that look inside the SQLite file are given their PostgreSQL
equivalent:

  harness.Server           DB = postgresql:///<fresh db>?host=...; dump()
                           reads every table with psql; the database is
                           dropped when the server stops
  test_concurrency         TestLocked holds LOCK TABLE backfill IN
                           EXCLUSIVE MODE (what a writer waits on) instead
                           of BEGIN IMMEDIATE; test_wal_mode is SQLite's
                           only; durability = normal is checked by the
                           data only
  test_auth                TestSecretsStoredHashed reads the database's
                           files and the write-ahead log
  test_cgi                 the CGI worker's conf names a PostgreSQL
                           database

Arguments are run.py's (test names, -v). Needs serve.sh to accept a
postgresql:// DB (E2E_SERVE may name a copy that does).
"""

import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.normpath(os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, E2E)
sys.path.insert(0, HERE)

import harness          # noqa: E402
import pgtest           # noqa: E402
import run as e2e_run   # noqa: E402

PG = pgtest.PgServer()


# -- the harness's Server on PostgreSQL ---------------------------------

_init = harness.Server.__init__
_stop = harness.Server.stop


def server_init(self, *a, **kw):
    _init(self, *a, **kw)
    self.pg_name = PG.createdb("e2e")
    self.db = PG.uri(self.pg_name)


def server_stop(self, check=True):
    try:
        _stop(self, check)
    finally:
        PG.dropdb(self.pg_name)


def server_dump(self):
    return PG.dump(self.pg_name)


harness.Server.__init__ = server_init
harness.Server.stop = server_stop
harness.Server.dump = server_dump


# -- the tests that look inside the SQLite file --------------------------

def patch_concurrency():
    import test_concurrency as tc

    def lock_for(self, seconds, ready):
        """Holds the lock every writer needs (a row lock on backfill, or
        an insert) for seconds, readers still served."""
        p = subprocess.Popen(
            ["psql", "-X", "-q", "-d", self.server.db, "-c",
             "BEGIN; LOCK TABLE backfill IN EXCLUSIVE MODE; "
             "SELECT pg_sleep(%s); ROLLBACK" % float(seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if PG.psql("SELECT count(*) FROM pg_locks WHERE granted AND "
                           "mode = 'ExclusiveLock' AND relation = "
                           "'backfill'::regclass",
                           self.server.pg_name).strip() == "1":
                    ready.set()
                    break
                time.sleep(0.02)
        finally:
            p.wait(seconds + 10)

    tc.TestLocked.lock_for = lock_for
    tc.TestLocked.test_wal_mode = unittest.skip(
        "SQLite's journal mode")(tc.TestLocked.test_wal_mode)

    def test_writes_work(self):
        rec = self.create(name="normal")
        out = self.put_ok(rec["id"], {"name": "normal2",
                                      "interval_units": 3})
        self.assertEqual(out["name"], "normal2")
        self.assertIn("normal2", "\n".join(self.server.dump()))

    tc.TestDurabilityNormal.test_writes_work_and_are_visible_in_the_file = \
        test_writes_work


def patch_auth():
    import test_auth as ta

    def db_bytes(self):
        return PG.data_bytes(self.server.pg_name)

    ta.TestSecretsStoredHashed.db_bytes = db_bytes


def patch_cgi():
    import test_cgi as tg

    setup = tg.TestCGI.setUpClass.__func__
    teardown = tg.TestCGI.tearDownClass.__func__
    real_join = os.path.join

    @classmethod
    def setUpClass(cls):
        # The test names its database os.path.join(tmp, "backfills.db"):
        # that one join gives the URI of a fresh database instead.
        name = PG.createdb("cgi")

        def join(*parts):
            if parts and parts[-1] == "backfills.db":
                return PG.uri(name)
            return real_join(*parts)

        cls.pg_name = name
        tg.os.path.join = join
        try:
            setup(cls)
        finally:
            tg.os.path.join = real_join

    @classmethod
    def tearDownClass(cls):
        try:
            teardown(cls)
        finally:
            PG.dropdb(cls.pg_name)

    def dump(self):
        return PG.dump(self.pg_name)

    tg.TestCGI.setUpClass = setUpClass
    tg.TestCGI.tearDownClass = tearDownClass
    tg.TestCGI.dump = dump


def main(argv):
    PG.start()
    try:
        patch_concurrency()
        patch_auth()
        patch_cgi()
        return e2e_run.main(argv)
    finally:
        PG.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
