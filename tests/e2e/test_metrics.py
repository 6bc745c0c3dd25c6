"""GET /api/metrics (README "Operations"): Prometheus' text format, without
the API's credentials, only from the addresses metrics_allow names; the
counters add up across the pool's workers and outlive a worker's
replacement, checked by scraping before and after known traffic."""

import os
import re
import signal
import time

from harness import ServerTestCase


def parse(text):
    """{(name, frozenset(labels)): value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class TestMetrics(ServerTestCase):
    WORKERS = 3

    def scrape(self):
        r = self.req("GET", "/api/metrics", auth=False)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        return parse(r.body.decode())

    def test_counts_known_traffic_across_workers(self):
        before = self.scrape()
        for _ in range(12):     # spread over the three workers
            self.assertEqual(self.req("GET", "/api/backfills/6").status,
                             200)
        for _ in range(5):
            self.assertEqual(self.req("GET", "/api/backfills/99999").status,
                             404)
        self.assertEqual(self.req("POST", "/api/pipelines/arwen_starlight/"
                                  "backfills", {"backfill": {"name": "m"}})
                         .status, 201)
        after = self.scrape()
        d = (lambda name, **kw: value(after, name, **kw) -
             value(before, name, **kw))
        self.assertEqual(d("backfills_requests_total", route="backfill",
                           method="GET", status="200"), 12)
        self.assertEqual(d("backfills_requests_total", route="backfill",
                           method="GET", status="404"), 5)
        self.assertEqual(d("backfills_requests_total",
                           route="pipeline_backfills", method="POST",
                           status="201"), 1)
        self.assertEqual(d("backfills_request_duration_seconds_count",
                           route="backfill"), 17)
        self.assertEqual(d("backfills_request_duration_seconds_bucket",
                           route="backfill", le="+Inf"), 17)
        # gauges read at scrape time
        self.assertEqual(value(after, "backfills_backfills", status="new"),
                         value(before, "backfills_backfills", status="new")
                         + 1)
        self.assertGreater(value(after, "backfills_database_size_bytes"), 0)
        self.assertEqual(value(after, "backfills_workers", state="busy") +
                         value(after, "backfills_workers", state="idle"), 3)
        self.assertEqual(value(after, "backfills_build_info",
                               version=self.version()), 1)

    def version(self):
        return self.req("GET", "/api/status").json["status"]["version"]

    def test_counters_outlive_a_replaced_worker(self):
        for _ in range(6):
            self.req("GET", "/api/backfills/6")
        before = self.scrape()
        victim = self.server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while victim in self.server.worker_pids() or \
                len(self.server.worker_pids()) < 3:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        after = self.scrape()
        self.assertGreaterEqual(
            value(after, "backfills_requests_total", route="backfill",
                  method="GET", status="200"),
            value(before, "backfills_requests_total", route="backfill",
                  method="GET", status="200"))
        self.assertEqual(value(after, "backfills_workers_replaced_total") -
                         value(before, "backfills_workers_replaced_total"), 1)


class TestMetricsElsewhere(ServerTestCase):
    """Scrapes from an address metrics_allow does not name are refused,
    credentials or not."""

    EXTRA_CONF = "metrics_allow = 10.0.0.0/8, fd00::/8"

    def test_refused(self):
        for auth in (False, True):
            r = self.req("GET", "/api/metrics", auth=auth)
            self.assertError(r, 403, "unauthorized_access")
            self.assertIn("metrics_allow", r.json["error"]["message"])
