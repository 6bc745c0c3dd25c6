"""Two faults of the files under a running pool (docs/RELIABILITY.md):

- the database made immutable (chattr +i) while the workers restart:
  they can only open it read-only, so every write answers a JSON 503 and
  changes nothing; once the file can be written again (chattr -i), the
  writes go through again without restarting anything (a connection that
  met SQLITE_READONLY is reopened);
- the write-ahead log removed while serving (rm backfills.db-wal): no
  write is acknowledged into the log that is gone (each answers 503
  until the workers have reopened), and every write acknowledged before
  and after is in the database, also after the pool is restarted.

As root (chattr, and the pool's files)."""

import contextlib
import os
import signal
import subprocess
import time
import unittest

from common import (PIPELINE, FaultCase, Pool, children, dump, read_rows,
                    tempdir, wait_for)


def chattr(flag, path):
    subprocess.run(["chattr", flag, path], check=True)


def create(pool, name):
    r = pool.request("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                     {"backfill": {"name": name}})
    return r.status if r is not None else None, r


class TestFiles(FaultCase):

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (chattr)")

    def restart_workers(self, pool):
        old = pool.workers()
        for p in old:
            os.kill(p, signal.SIGKILL)
        self.assertTrue(wait_for(lambda: len(pool.workers()) == pool.n and
                                 not set(pool.workers()) & set(old), 5),
                        "the pool did not replace its workers")

    def test_immutable_database_becomes_writable_again(self):
        with tempdir("bf-fault-immut-") as d:
            pool = Pool(d, workers=2)
            try:
                self.assertEqual(create(pool, "before")[0], 201)
                chattr("+i", pool.db)
                try:
                    self.restart_workers(pool)
                    before = dump(pool.db)
                    for i in range(6):
                        st, r = create(pool, "while-immutable-%d" % i)
                        self.assertUnavailable(r, "a write while +i")
                        r = pool.request("GET", "/api/backfills/6")
                        self.assertEqual(r.status, 200, r)
                    self.assertEqual(dump(pool.db), before)
                finally:
                    chattr("-i", pool.db)
                # writable again: each worker may refuse one more write
                # (its read-only connection meets the file), then writes
                # go through, with no restart
                got = [create(pool, "after-%d" % i)[0] for i in range(8)]
                self.assertLessEqual(got.count(503), pool.n, got)
                self.assertEqual(got[-4:], [201] * 4, got)
                names = {r["name"] for r in read_rows(pool.db).values()}
                self.assertIn("after-7", names)
                self.assertFalse(any(n and n.startswith("while-")
                                     for n in names))
            finally:
                self.assertEqual(pool.stop(), [])

    def test_wal_removed_while_serving(self):
        with tempdir("bf-fault-wal-") as d:
            pool = Pool(d, workers=2)
            acked = []
            try:
                for i in range(20):
                    st, r = create(pool, "before-%d" % i)
                    self.assertEqual(st, 201, r)
                    acked.append("before-%d" % i)
                wal = pool.db + "-wal"
                self.assertTrue(os.path.exists(wal))
                os.unlink(wal)
                outcomes = []
                for i in range(40):
                    st, r = create(pool, "after-%d" % i)
                    outcomes.append(st)
                    if st == 201:
                        acked.append("after-%d" % i)
                    else:
                        self.assertUnavailable(r, "a write after rm -wal")
                # the first writes after the removal are refused, none
                # acknowledged into the removed log
                self.assertEqual(outcomes[0], 503, outcomes)
                r = pool.request("GET", "/api/status")
                self.assertIsNotNone(r)
            finally:
                self.assertEqual(pool.stop(), [])
            # what was acknowledged is in the database, also when the
            # pool starts again on it
            names = {r["name"] for r in read_rows(pool.db).values()}
            self.assertFalse(set(acked) - names,
                             "acknowledged and lost: %s"
                             % sorted(set(acked) - names))
            print("\n  rm -wal: %d writes after it acknowledged, %d "
                  "refused" % (outcomes.count(201), outcomes.count(503)),
                  end=" ")

    def test_wal_removed_under_concurrent_writers(self):
        """The log removed while four writers on three workers go on:
        the first worker to find it saves it once, under the write
        queue; the others must not checkpoint through their old log
        (the shared index describes the new one by then). Every write
        acknowledged is in the database, which stays intact."""
        import sqlite3
        import threading
        with tempdir("bf-fault-walc-") as d:
            pool = Pool(d, workers=3)
            acked, lock, stop = [], threading.Lock(), threading.Event()
            odd = []

            def writer(k):
                i = 0
                while not stop.is_set():
                    i += 1
                    name = "w%d-%d" % (k, i)
                    st, r = create(pool, name)
                    if st == 201:
                        with lock:
                            acked.append(name)
                    elif st != 503:
                        odd.append((name, st))
            ts = [threading.Thread(target=writer, args=(k,))
                  for k in range(4)]
            try:
                for t in ts:
                    t.start()
                for _ in range(3):      # three removals, 0.4 s apart
                    time.sleep(0.4)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(pool.db + "-wal")
                time.sleep(0.5)
            finally:
                stop.set()
                for t in ts:
                    t.join(30)
                self.assertEqual(pool.stop(), [])
            self.assertEqual(odd, [])
            names = {r["name"] for r in read_rows(pool.db).values()}
            self.assertFalse(set(acked) - names, "acknowledged and lost: "
                             "%d of %d" % (len(set(acked) - names),
                                           len(acked)))
            con = sqlite3.connect(pool.db)
            try:
                self.assertEqual(con.execute("PRAGMA integrity_check")
                                 .fetchone()[0], "ok")
            finally:
                con.close()
            print("\n  rm -wal x3 under 4 writers: %d acknowledged, none "
                  "lost" % len(acked), end=" ")

    def test_wal_removed_under_two_pools(self):
        """Two pools on one database file share no write queue: pool A
        finds the log gone, saves it and starts a new one; pool B finds
        it later, when the shared index describes A's new log, and must
        not checkpoint through its old one (which would copy stale pages
        over the new ones). Nothing acknowledged is lost, the file stays
        intact."""
        import sqlite3
        with tempdir("bf-fault-wal2-") as d:
            da, db_ = os.path.join(d, "a"), os.path.join(d, "b")
            os.mkdir(da)
            os.mkdir(db_)
            a = Pool(da, workers=1)
            b = None
            acked = []
            try:
                b = Pool(db_, workers=1, create_db=False, db=a.db)

                def write(pool, name, want):
                    st, r = create(pool, name)
                    self.assertEqual(st, want, r)
                    if st == 201:
                        acked.append(name)
                for i in range(10):
                    write(a, "a-%d" % i, 201)
                    write(b, "b-%d" % i, 201)
                os.unlink(a.db + "-wal")
                write(a, "a-found", 503)        # saved, then reopened
                for i in range(10):             # into A's new log
                    write(a, "a-new-%d" % i, 201)
                write(b, "b-found", 503)        # B must not checkpoint
                for i in range(10):
                    write(b, "b-new-%d" % i, 201)
                    write(a, "a-more-%d" % i, 201)
            finally:
                if b is not None:
                    self.assertEqual(b.stop(), [])
                self.assertEqual(a.stop(), [])
            names = {r["name"] for r in read_rows(a.db).values()}
            self.assertEqual(sorted(set(acked) - names), [])
            con = sqlite3.connect(a.db)
            try:
                self.assertEqual(con.execute("PRAGMA integrity_check")
                                 .fetchone()[0], "ok")
            finally:
                con.close()
