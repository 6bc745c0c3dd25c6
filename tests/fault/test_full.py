"""The database full (max_db_size = 100K in the conf, which caps the
file): creates with large settings until the service refuses one. The
refusal is a JSON 503; the record that failed is absent, every earlier
one intact; an update that would grow past the cap is refused and
changes nothing; /api/status still answers 200, reads work and the
workers survive; deleting frees room for a new record; the file stays
within the cap."""

import os
import random
import string

from common import (ACK, PIPELINE, Ledger, PoolCase, checkpoint, dump,
                    read_rows)

CAP = 100 * 1024


def blob(n):
    return "".join(random.choice(string.ascii_letters) for _ in range(n))


class TestFull(PoolCase):
    EXTRA_CONF = "max_db_size = 100K\nbusy_timeout = 1000"
    WORKERS = 2

    def test_full(self):
        workers = self.workers()
        ledger = Ledger()
        made, refused = [], None
        for i in range(60):
            name = "full-%d" % i
            settings = {"blob": blob(6000), "i": i}
            r = self.req("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                         {"backfill": {"name": name, "settings": settings}})
            o, bid = ledger.create(name, r)
            if o == ACK:
                made.append((bid, name, settings))
                continue
            refused = (name, r)
            break
        self.assertIsNotNone(refused, "60 creates of 6 KB fit in 100K")
        name, r = refused
        self.assertUnavailable(r, "create past max_db_size")
        self.assertNotEqual(r.json["error"]["message"],
                            "Service unavailable.", "nginx's 503, not the "
                            "worker's: the worker died?")
        self.assertGreater(len(made), 0, "not one record fitted")
        # the workers survived, and serve
        self.assertEqual(self.workers(), workers, "workers were replaced")
        for _ in range(2 * self.WORKERS):
            s = self.req("GET", "/api/status")
            self.assertEqual(s.status, 200, s)
            g = self.req("GET", "/api/backfills/6")
            self.assertEqual(g.status, 200, g)
        rows = read_rows(self.db)
        self.assertNotIn(name, [v["name"] for v in rows.values()])
        for bid, n, settings in made:
            self.assertEqual(rows[bid]["name"], n)
            self.assertEqual(rows[bid]["settings"], settings)
            g = self.req("GET", "/api/backfills/%d" % bid)
            self.assertEqual(g.status, 200, g)
            self.assertEqual(g.json["backfill"]["settings"], settings)
        # an update that grows a record past the cap: refused, unchanged
        before = dump(self.db)
        bid0 = made[0][0]
        fields = {"settings": {"blob": blob(30000)}, "name": "grown"}
        u = self.req("PUT", "/api/backfills/%d" % bid0, {"backfill": fields})
        ledger.update(bid0, fields, u)
        self.assertUnavailable(u, "update past max_db_size")
        self.assertEqual(dump(self.db), before, "a refused update changed "
                         "the database")
        # deleting makes room again
        d = self.req("DELETE", "/api/backfills/%d" % made[-1][0])
        self.assertEqual(d.status, 200, d)
        ledger.delete(made[-1][0], d)
        c = self.req("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                     {"backfill": {"name": "after-full"}})
        ledger.create("after-full", c)
        self.assertEqual(c.status, 201, c)
        self.assertEqual(self.workers(), workers, "workers were replaced")
        self.assertNoProblems(ledger.verify(read_rows(self.db)), "ledger")
        checkpoint(self.db)
        size = os.path.getsize(self.db)
        self.assertLessEqual(size, CAP, "database file over max_db_size")
        print("\n  full: %d records of 6 KB fitted, the next refused "
              "(503); file %d bytes <= %d" % (len(made), size, CAP),
              end=" ")
