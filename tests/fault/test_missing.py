"""The database missing.

- Renamed away while the pool serves (mv backfills.db elsewhere): API
  calls and /api/status answer a JSON 503; once it is put back, service
  resumes without restarting workers; nothing refused was applied and
  nothing acknowledged was lost.
- Deleted while the pool serves, then restored from a backup copy (the
  operator's rm, then cp backup): the same, and no write is acknowledged
  into the deleted file (which would be lost with it).
- A pool started before its database exists: workers start and answer
  JSON 503 (/api/status too) until the file appears, then serve, same
  workers.
- Plain CGI with a database path that does not exist: JSON 503 for API
  calls and /api/status, and no empty database is created there."""

import os
import shutil

from common import (PIPELINE, FaultCase, Ledger, Pool, PoolCase, checkpoint,
                    cgi, make_db, read_rows, tempdir, write_conf)


def calls(tag):
    """The requests tried while the database is missing."""
    return [("GET", "/api/status", None),
            ("GET", "/api/backfills/6", None),
            ("GET", "/api/backfills?_limit=5", None),
            ("PUT", "/api/backfills/6", {"backfill": {"block_uuid": tag}}),
            ("POST", "/api/pipelines/%s/backfills" % PIPELINE,
             {"backfill": {"name": tag}}),
            ("DELETE", "/api/backfills/%d", None)]


class MissingCase(PoolCase):
    WORKERS = 2

    def while_missing(self, ledger, victim, rounds=3):
        """Every call, several times (each worker): a JSON 503 expected.
        Writes go into the ledger. Returns the problems seen, one line
        per kind of call that did not answer a proper 503."""
        seen = {}
        for i in range(rounds * self.WORKERS):
            tag = "missing-%d" % i
            for method, path, body in calls(tag):
                if "%d" in path:
                    path = path % victim
                r = self.req(method, path, body)
                if method == "PUT":
                    ledger.update(6, body["backfill"], r)
                elif method == "POST":
                    ledger.create(tag, r)
                elif method == "DELETE":
                    ledger.delete(victim, r)
                try:
                    self.assertUnavailable(r, "%s %s" % (method, path))
                    got = "503"
                except AssertionError:
                    got = "no answer" if r is None else str(r.status)
                seen.setdefault((method, path.split("?")[0]), []).append(
                    (got, r))
        problems = []
        for (method, path), answers in sorted(seen.items()):
            bad = [(g, r) for g, r in answers if g != "503"]
            if bad:
                problems.append("%s %s while missing: %d of %d answered %s "
                                "instead of a JSON 503, e.g. %r"
                                % (method, path, len(bad), len(answers),
                                   "/".join(sorted({g for g, _ in bad})),
                                   bad[-1][1]))
        return problems

    def resumed(self, workers_before):
        for _ in range(3 * self.WORKERS):
            r = self.req("GET", "/api/status")
            self.assertEqual(r.status, 200, r)
        r = self.req("PUT", "/api/backfills/6",
                     {"backfill": {"name": "resumed"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.workers(), workers_before,
                         "workers were restarted")


class TestRenamedAway(MissingCase):

    def test_renamed_away_then_back(self):
        victim = self.create(name="victim")["id"]
        checkpoint(self.db)
        ledger = Ledger()
        workers = self.workers()
        away = self.db + ".away"
        os.rename(self.db, away)
        try:
            problems = self.while_missing(ledger, victim)
        finally:
            os.rename(away, self.db)
        self.resumed(workers)
        problems += ledger.verify(read_rows(self.db))
        self.assertNoProblems(problems, "database renamed away")


class TestDeletedRestored(MissingCase):

    def test_deleted_then_restored_from_copy(self):
        victim = self.create(name="victim")["id"]
        checkpoint(self.db)
        backup = os.path.join(self.server.tmp, "backup.db")
        shutil.copyfile(self.db, backup)
        ledger = Ledger()
        workers = self.workers()
        os.unlink(self.db)
        try:
            problems = self.while_missing(ledger, victim)
        finally:
            shutil.copyfile(backup, self.db)
        self.resumed(workers)
        problems += ledger.verify(read_rows(self.db))
        r = self.req("GET", "/api/backfills/6")
        if r.json["backfill"]["block_uuid"] != read_rows(self.db)[6][
                "block_uuid"]:
            problems.append("the API and the restored file disagree on "
                            "backfill 6: %r" % r.json["backfill"])
        self.assertNoProblems(problems, "database deleted, then restored")


class TestStartedWithout(FaultCase):

    def test_pool_started_before_database(self):
        with tempdir("bf-fault-nodb-", 0o700) as d:
            pool = Pool(d, 2, create_db=False)
            try:
                workers = pool.workers()
                for _ in range(4):
                    for method, path, body in calls("nodb"):
                        path = path.replace("%d", "6")
                        r = pool.request(method, path,
                                         body if body else b"")
                        self.assertUnavailable(r, "%s %s" % (method, path))
                self.assertFalse(os.path.exists(pool.db),
                                 "an empty database was created")
                make_db(pool.db)
                for _ in range(4):
                    r = pool.request("GET", "/api/status")
                    self.assertEqual(r.status, 200, r)
                    r = pool.request("GET", "/api/backfills/6")
                    self.assertEqual(r.status, 200, r)
                self.assertEqual(pool.workers(), workers)
            finally:
                self.assertEqual(pool.stop(), [], "sanitizer reports")

    def test_cgi_missing_database(self):
        with tempdir("bf-fault-nodb-", 0o700) as d:
            db = os.path.join(d, "backfills.db")
            conf = os.path.join(d, "backfills.conf")
            write_conf(conf, db)
            for method, path, body in calls("cgi"):
                path = path.replace("%d", "6")
                r, err = cgi(conf, method, path, body if body else b"")
                self.assertUnavailable(r, "%s %s (%s)" % (method, path,
                                                          err[-300:]))
            self.assertEqual(os.listdir(d), ["backfills.conf"],
                             "files created")
            make_db(db)
            r, err = cgi(conf, "GET", "/api/backfills/6")
            self.assertEqual(r.status, 200, err)
