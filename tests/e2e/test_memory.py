"""What one answer may cost (docs/RELIABILITY.md, "Memory"): an answer
is at most max_answer bytes (a larger one is a 400 saying to ask for
fewer rows, and costs no more memory than max_answer), and a worker that
built a large answer gives the memory back after it: its resident size
returns to within 2 MiB of what it was."""

import json
import threading
import time

from harness import SANITIZED, ServerTestCase, DEMO_PIPELINE

MIB = 1024


class TestMemory(ServerTestCase):
    WORKERS = 2

    def test_large_answers_leave_no_memory_behind(self):
        # 60 KB of variables, a plan of 1 000 days: a preview of 1 000
        # rows would repeat them in every row (60 MB)
        variables = {"k%04d" % i: "v" * 50 for i in range(1000)}
        self.assertGreater(len(json.dumps(variables)), 55000)
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2025-09-26", interval_type="day",
                          interval_units=1, variables=variables)
        bid = rec["id"]
        path = "/api/backfills/%d?include_preview_runs=true" % bid
        # every worker warm, on small answers: at once from four clients,
        # since an idle pool hands a lone client's requests to one worker
        # (EPOLLEXCLUSIVE wakes the first idle one)
        statuses = []

        def warm():
            for _ in range(10):
                statuses.append(self.req("GET", path + "&_limit=2").status)
        ts = [threading.Thread(target=warm) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(statuses, [200] * 40)
        pids = self.server.worker_pids()
        self.assertEqual(len(pids), 2, pids)
        before = {p: self.server.rss_kib(p) for p in pids}
        for _ in range(6):
            # 100 rows: about 6 MB, under max_answer (8 MiB)
            r = self.req("GET", path + "&_limit=100", timeout=30)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(r.json["backfill"]["pipeline_run_dates"]),
                             100)
            self.assertGreater(len(r.body), 5_000_000)
            # 1 000 rows: over it, refused, saying why
            r = self.req("GET", path + "&_limit=1000", timeout=30)
            self.assertError(r, 400, "invalid_query")
            self.assertIn("max_answer", r.json["error"]["message"])
        # A worker gives the memory back after it has sent the answer
        # (FCGX_Finish, then shrink): idle RSS is what counts, so wait
        # for it a little, up to 3 s.
        deadline = time.monotonic() + 3
        while True:
            after = {p: self.server.rss_kib(p) for p in pids}
            if (SANITIZED or time.monotonic() > deadline or
                    all(after[p] - before[p] < 2 * MIB for p in pids)):
                break
            time.sleep(0.05)
        for p in pids:
            if SANITIZED:
                break       # the cap held; the memory is ASan's
            self.assertLess(after[p] - before[p], 2 * MIB,
                            "worker %d: %d KiB before, %d after"
                            % (p, before[p], after[p]))
        self.assertAlive()

    def test_a_run_list_over_the_cap(self):
        # the same bound for any answer: runs carry their variables
        variables = {"k%04d" % i: "v" * 50 for i in range(1000)}
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2023-07-01", interval_type="day",
                          interval_units=1, variables=variables)
        self.put_ok(rec["id"], {"status": "initial"})
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&_limit=1000"
                     % rec["id"], timeout=30)
        self.assertError(r, 400, "invalid_query")
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&_limit=50"
                     % rec["id"], timeout=30)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["pipeline_runs"]), 50)
