"""The database replaced by a file that is not a database, while the
pool serves: overwritten in place (cp junk backfills.db) or renamed over
(mv junk backfills.db). Requests and /api/status answer a JSON 503; put
the database back (cp, or mv): service resumes with the same workers,
and the data is as it was (nothing refused applied)."""

import os
import shutil

from common import ACK, PIPELINE, Ledger, PoolCase, checkpoint, dump, read_rows

JUNK = b"this is not a SQLite database\n" * 200


class NotADbCase(PoolCase):
    WORKERS = 2

    def probe(self, ledger):
        """Each call a few times; returns one line per kind of call that
        did not answer a proper JSON 503."""
        seen = {}
        for i in range(3 * self.WORKERS):
            tag = "junk-%d" % i
            for method, path, body in (
                    ("GET", "/api/status", None),
                    ("GET", "/api/backfills/6", None),
                    ("GET", "/api/backfills", None),
                    ("PUT", "/api/backfills/6",
                     {"backfill": {"block_uuid": tag}}),
                    ("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                     {"backfill": {"name": tag}})):
                r = self.req(method, path, body)
                if method == "PUT":
                    ledger.update(6, body["backfill"], r)
                elif method == "POST":
                    ledger.create(tag, r)
                try:
                    self.assertUnavailable(r, "%s %s" % (method, path))
                    got = "503"
                except AssertionError:
                    got = "no answer" if r is None else str(r.status)
                seen.setdefault((method, path), []).append((got, r))
        problems = []
        for (method, path), answers in sorted(seen.items()):
            bad = [(g, r) for g, r in answers if g != "503"]
            if bad:
                problems.append("%s %s with junk in place of the database: "
                                "%d of %d answered %s instead of a JSON "
                                "503, e.g. %r"
                                % (method, path, len(bad), len(answers),
                                   "/".join(sorted({g for g, _ in bad})),
                                   bad[-1][1]))
        return problems

    def check_resumed(self, workers, before, ledger, problems):
        for _ in range(2 * self.WORKERS):
            r = self.req("GET", "/api/status")
            if r is None or r.status != 200:
                problems.append("after restore, /api/status: %r" % r)
        after = dump(self.db)
        if after != before and not ledger.counts[ACK]:
            problems.append("after restore the data differs from before "
                            "(%d lines added)"
                            % len([x for x in after if x not in before]))
        problems += ledger.verify(read_rows(self.db))
        r = self.req("PUT", "/api/backfills/6",
                     {"backfill": {"name": "resumed"}})
        if r is None or r.status != 200:
            problems.append("after restore, PUT: %r" % r)
        if self.workers() != workers:
            problems.append("workers were replaced: %r -> %r"
                            % (workers, self.workers()))
        self.assertNoProblems(problems, self.id().rsplit(".", 1)[1])


class TestOverwrittenInPlace(NotADbCase):

    def test_overwritten_in_place(self):
        self.create(name="kept")
        checkpoint(self.db)
        good = os.path.join(self.server.tmp, "good.db")
        shutil.copyfile(self.db, good)
        before, workers, ledger = dump(self.db), self.workers(), Ledger()
        with open(self.db, "r+b") as f:      # as cp junk backfills.db
            f.write(JUNK)
            f.truncate()
        try:
            problems = self.probe(ledger)
        finally:
            shutil.copyfile(good, self.db)   # cp good backfills.db
        self.check_resumed(workers, before, ledger, problems)


class TestRenamedOver(NotADbCase):

    def test_renamed_over(self):
        self.create(name="kept")
        checkpoint(self.db)
        before, workers, ledger = dump(self.db), self.workers(), Ledger()
        junk = self.db + ".junk"
        with open(junk, "wb") as f:
            f.write(JUNK)
        os.rename(self.db, self.db + ".good")
        os.rename(junk, self.db)              # mv junk backfills.db
        try:
            problems = self.probe(ledger)
        finally:
            os.rename(self.db + ".good", self.db)
        self.check_resumed(workers, before, ledger, problems)
