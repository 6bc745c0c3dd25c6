"""kill -9 of a worker during a stream of writes: the request in flight
fails cleanly at nginx (its JSON 503, or a dropped connection; never a
2xx for a write that is not there), the pool replaces the worker within
about 2 s, and afterwards every write answered 200/201 is in the
database and none answered with the worker's own error is."""

import os
import random
import signal
import threading
import time

from common import (ACK, DOUBT, PIPELINE, Ledger, PoolCase, proc_stat,
                    read_rows)

WRITERS = 4
KILLS = 6


class TestKillWorker(PoolCase):
    WORKERS = 3

    def writer(self, k, ledger, stop):
        mine = []
        try:
            for i in range(1, 2000):
                if stop.is_set():
                    return
                name = "kill-w%d-c%d" % (k, i)
                r = self.req("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                             {"backfill": {"name": name}})
                o, bid = ledger.create(name, r)
                if o == ACK:
                    mine.append(bid)
                for bid in mine[-3:]:
                    fields = {"block_uuid": "w%d-u%d" % (k, i),
                              "interval_units": i}
                    r = self.req("PUT", "/api/backfills/%d" % bid,
                                 {"backfill": fields})
                    ledger.update(bid, fields, r)
        except Exception as e:      # noqa: BLE001 (report, not hang)
            ledger.bad("writer %d: %r" % (k, e))

    def busiest(self, pids):
        """A worker that is running or in the disk (R/D) if any: the
        likeliest to hold a request."""
        busy = [p for p in pids if (proc_stat(p) or ("S",))[0] in "RD"]
        return random.choice(busy or pids)

    def test_kill9_during_writes(self):
        ledger, stop = Ledger(), threading.Event()
        ts = [threading.Thread(target=self.writer, args=(k, ledger, stop))
              for k in range(WRITERS)]
        for t in ts:
            t.start()
        replaced = []
        try:
            time.sleep(0.5)
            for _ in range(KILLS):
                pids, _ = self.wait_workers()
                victim = self.busiest(pids)
                os.kill(victim, signal.SIGKILL)
                _, took = self.wait_workers(gone=[victim], timeout=2.5)
                replaced.append(took)
                time.sleep(1.05 - min(took, 1.0) + random.random() * 0.2)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in ts:
                t.join(30)
        self.assertFalse(any(t.is_alive() for t in ts), "writers hung")
        self.assertLess(max(replaced), 2.0, "replacement times %r"
                        % replaced)

        rows = read_rows(self.db)
        problems = ledger.verify(rows)
        # nothing of ours stored that no create was sent for
        names = {n for n, _, _ in ledger.creates}
        for bid, row in rows.items():
            if (row["name"] or "").startswith("kill-") and \
                    row["name"] not in names:
                problems.append("unexpected backfill %d %r" % (bid, row))
        # the API agrees with the file for every acknowledged create
        for name, o, bid in ledger.creates:
            if o != ACK:
                continue
            r = self.req("GET", "/api/backfills/%d" % bid)
            if r is None or r.status != 200:
                problems.append("GET %d after the kills: %r" % (bid, r))
                continue
            got = r.json["backfill"]
            want = rows.get(bid, {})
            if (got["name"], got["block_uuid"], got["interval_units"]) != \
                    (want.get("name"), want.get("block_uuid"),
                     want.get("interval_units")):
                problems.append("GET %d: %r, file: %r" % (bid, got, want))
        print("\n  kill -9: %d kills, replaced in %s s; writes: %d "
              "acknowledged, %d refused, %d in doubt (%d of those "
              "applied), %d lost"
              % (KILLS, "/".join("%.2f" % x for x in replaced),
                 ledger.counts[ACK], ledger.counts["refused"],
                 ledger.counts[DOUBT], ledger.stats["doubt_applied"],
                 ledger.stats["lost"]), end=" ")
        self.assertNoProblems(problems, "after %d kills" % KILLS)
        self.assertGreater(ledger.counts[ACK], 100, "too few writes done")
        # every kill hit while writes were flowing; the request a killed
        # worker held is the one in doubt (at least one kill must have
        # caught a request, or the test proved nothing)
        self.assertGreater(ledger.counts[DOUBT], 0,
                           "no kill caught a request in flight")
        r = self.req("GET", "/api/status")
        self.assertEqual(r.status, 200, r)
