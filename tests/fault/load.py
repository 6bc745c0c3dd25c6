#!/usr/bin/env python3
"""
make load: a bounded mixed load on loopback against the service started
as make run starts it (scripts/serve.sh: nginx + the pre-fork pool, the
demo conf, durability full), then checks what the clients were told.

LOAD_CONNECTIONS (default 120) threads, each with its own keep-alive
HTTP/1.1 connection to nginx: three quarters readers (show, show with
include_run_count, list, nested list), one quarter writers (each creates
backfills, updates its own with increasing values, deletes some, reads
in between, and records every answer). A warm-up (LOAD_WARMUP, 5 s), then
LOAD_SECONDS (30) measured.

Fails (exit 1) on:
- any 5xx, a transport error (connection reset, timeout), or an answer
  other than the expected 200/201/404;
- a lost acknowledged write: every create answered 201 exists unless its
  writer deleted it (200), every delete answered 200 is gone, every
  field's stored value is the last one acknowledged;
- a worker replaced during the run, or one whose resident memory
  (VmRSS) grew by LOAD_RSS_SLACK_KIB (1024) or more between the end of
  the warm-up and the end of the run.

Prints requests, requests per second, latency, errors and each worker's
RSS before/after. Environment: LOAD_WORKERS (default: cores), plus
harness.py's FCGI_BIN, CTL_BIN, E2E_KEEP.
"""

import http.client
import json
import os
import random
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import (ACK, AUTH, PIPELINE, Ledger, Server, children,  # noqa: E402
                    pool_parent, read_rows, vmrss_kib)

CONNS = int(os.environ.get("LOAD_CONNECTIONS", "120"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
WARMUP = float(os.environ.get("LOAD_WARMUP", "5"))
WORKERS = int(os.environ.get("LOAD_WORKERS", str(os.cpu_count() or 2)))
SLACK_KIB = int(os.environ.get("LOAD_RSS_SLACK_KIB", "1024"))
WRITERS = max(1, CONNS // 4)
PREFILL = int(os.environ.get("LOAD_PREFILL", "3000"))


class Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.n = 0
        self.status = {}
        self.transport = 0
        self.lat = []
        self.unexpected = []

    def do(self, method, path, body=None, expect=(200,)):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=30)
        h = dict(AUTH)
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        t0 = time.monotonic()
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data)
        except (http.client.HTTPException, OSError) as e:
            self.conn.close()
            self.conn = None
            self.n += 1
            self.transport += 1
            if len(self.unexpected) < 5:
                self.unexpected.append("%s %s: %r" % (method, path, e))
            return None
        self.n += 1
        if random.random() < 0.1:
            self.lat.append(time.monotonic() - t0)
        self.status[resp.status] = self.status.get(resp.status, 0) + 1
        if resp.status not in expect and len(self.unexpected) < 5:
            self.unexpected.append("%s %s: %d %r" % (method, path,
                                                     resp.status,
                                                     data[:200]))
        return resp


class Response:
    """Enough of harness.Response for the Ledger."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self._json = None

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError as e:
                raise AssertionError("not JSON: %s" % e)
        return self._json


class Shared:
    def __init__(self, ids):
        self.ids = list(ids)        # known ids, for readers (append only)
        self.stop = threading.Event()
        self.ledger = Ledger()
        self.kinds = {"show": 0, "list": 0, "create": 0, "update": 0,
                      "delete": 0}
        self.lock = threading.Lock()

    def count(self, kind):
        with self.lock:
            self.kinds[kind] += 1


def reader(cl, sh):
    while not sh.stop.is_set():
        x = random.random()
        if x < 0.45:
            bid = random.choice(sh.ids)
            cl.do("GET", "/api/backfills/%d" % bid, expect=(200, 404))
            sh.count("show")
        elif x < 0.55:
            bid = random.choice(sh.ids)
            cl.do("GET", "/api/pipelines/%s/backfills/%d?include_run_count="
                  "true" % (PIPELINE, bid), expect=(200, 404))
            sh.count("show")
        elif x < 0.85:
            cl.do("GET", "/api/backfills?_limit=40&_offset=%d"
                  % random.randrange(0, PREFILL))
            sh.count("list")
        else:
            cl.do("GET", "/api/pipelines/%s/backfills?_limit=20&_offset=%d"
                  % (PIPELINE, random.randrange(0, PREFILL)))
            sh.count("list")


def writer(k, cl, sh):
    mine, seq = [], 0
    while not sh.stop.is_set():
        seq += 1
        name = "load-w%d-%d" % (k, seq)
        r = cl.do("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                  {"backfill": {"name": name, "settings": {"w": k}}},
                  expect=(201,))
        o, bid = sh.ledger.create(name, r)
        sh.count("create")
        if o == ACK:
            mine.append(bid)
            sh.ids.append(bid)
        for _ in range(3):
            if not mine or sh.stop.is_set():
                break
            bid = random.choice(mine)
            seq += 1
            fields = {"block_uuid": "w%d-%d" % (k, seq),
                      "interval_units": seq}
            r = cl.do("PUT", "/api/backfills/%d" % bid,
                      {"backfill": fields})
            sh.ledger.update(bid, fields, r)
            sh.count("update")
            cl.do("GET", "/api/backfills/%d" % bid)
            sh.count("show")
        if seq % 5 == 0 and len(mine) > 2:
            bid = mine.pop(0)
            r = cl.do("DELETE", "/api/backfills/%d" % bid)
            sh.ledger.delete(bid, r)
            sh.count("delete")


def prefill(port, n):
    """n backfills through the API (16 connections), so that lists and
    page caches have something to walk; returns their ids."""
    ids, lock = [], threading.Lock()

    def run(k):
        cl = Client(port)
        for i in range(k, n, 16):
            r = cl.do("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                      {"backfill": {"name": "prefill-%d" % i,
                                    "start_datetime": "2023-01-01",
                                    "end_datetime": "2023-02-01",
                                    "interval_type": "day",
                                    "interval_units": 1,
                                    "variables": {"i": i}}},
                      expect=(201,))
            if r is None or r.status != 201:
                raise SystemExit("load: prefill failed: %r" % cl.unexpected)
            with lock:
                ids.append(r.json["backfill"]["id"])

    ts = [threading.Thread(target=run, args=(k,)) for k in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ids


def rss(pids):
    return {p: vmrss_kib(p) for p in pids}


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    threading.stack_size(256 * 1024)
    server = Server("", WORKERS, name="load").start()
    ok = False
    try:
        ok = run(server)
    finally:
        server.stop(check=True)
    print("load: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def run(server):
    port = server.port
    print("load: %d connections (%d readers, %d writers), %d workers, "
          "%.0f s measured after %.0f s warm-up, database prefilled with "
          "%d backfills" % (CONNS, CONNS - WRITERS, WRITERS, WORKERS,
                            SECONDS, WARMUP, PREFILL), flush=True)
    ids = prefill(port, PREFILL) + [1, 2, 3, 4, 5, 6]
    sh = Shared(ids)
    clients = [Client(port) for _ in range(CONNS)]
    ts = []
    for i, cl in enumerate(clients):
        if i < WRITERS:
            t = threading.Thread(target=writer, args=(i, cl, sh))
        else:
            t = threading.Thread(target=reader, args=(cl, sh))
        t.daemon = True
        ts.append(t)
    parent = pool_parent(server)
    for t in ts:
        t.start()
    time.sleep(WARMUP)
    workers = children(parent)
    rss0 = rss(workers)
    n0 = sum(c.n for c in clients)
    kinds0 = dict(sh.kinds)
    t0 = time.monotonic()
    series = [(0.0, sum(rss0.values()))]
    end = t0 + SECONDS
    while time.monotonic() < end:
        time.sleep(min(5.0, max(0.0, end - time.monotonic())))
        series.append((time.monotonic() - t0,
                       sum(v or 0 for v in rss(workers).values())))
    n1 = sum(c.n for c in clients)
    took = time.monotonic() - t0
    rss1 = rss(workers)
    workers_end = children(parent)
    kinds1 = dict(sh.kinds)
    sh.stop.set()
    for t in ts:
        t.join(60)
    hung = sum(t.is_alive() for t in ts)

    problems = []
    if hung:
        problems.append("%d client threads hung" % hung)
    status, transport, lat, unexpected = {}, 0, [], []
    for c in clients:
        for k, v in c.status.items():
            status[k] = status.get(k, 0) + v
        transport += c.transport
        lat += c.lat
        unexpected += c.unexpected
    fivexx = sum(v for k, v in status.items() if k >= 500)
    other = sum(v for k, v in status.items()
                if k not in (200, 201, 404) and k < 500)
    if fivexx:
        problems.append("%d answers 5xx" % fivexx)
    if transport:
        problems.append("%d transport errors" % transport)
    if other:
        problems.append("%d unexpected 4xx answers" % other)
    if unexpected:
        problems.append("e.g. " + "; ".join(unexpected[:5]))
    rows = read_rows(server.db)
    lp = sh.ledger.verify(rows)
    problems += lp
    if workers_end != workers:
        problems.append("workers replaced during the run: %r -> %r"
                        % (workers, workers_end))
    growth = {p: (rss1[p] or 0) - (rss0[p] or 0) for p in workers}
    for p, g in growth.items():
        if rss1[p] is None:
            problems.append("worker %d gone" % p)
        elif g >= SLACK_KIB:
            problems.append("worker %d grew %d KiB (%d -> %d)"
                            % (p, g, rss0[p], rss1[p]))

    done = n1 - n0
    print("load: %d requests in %.1f s = %.0f requests/s (after warm-up; "
          "%d in all)" % (done, took, done / took, sum(c.n for c in clients)))
    print("load: measured mix: %s" % ", ".join(
        "%s %d" % (k, kinds1[k] - kinds0[k]) for k in kinds1))
    print("load: latency p50 %.1f ms, p99 %.1f ms, max %.1f ms (10%% sample)"
          % (pct(lat, .5) * 1000, pct(lat, .99) * 1000,
             (max(lat) if lat else 0) * 1000))
    print("load: answers %s; 5xx %d; transport errors %d"
          % (", ".join("%d: %d" % kv for kv in sorted(status.items())),
             fivexx, transport))
    c = sh.ledger.counts
    print("load: writes acknowledged %d, refused %d, in doubt %d; "
          "acknowledged writes lost %d, refused writes applied %d"
          % (c[ACK], c["refused"], c["in doubt"], sh.ledger.stats["lost"],
             sh.ledger.stats["refused_applied"]))
    print("load: worker RSS KiB after warm-up -> end: %s (max growth %d KiB,"
          " limit %d)" % (", ".join("%d -> %d" % (rss0[p] or 0, rss1[p] or 0)
                                   for p in workers),
                          max(growth.values()) if growth else 0, SLACK_KIB))
    print("load: total worker RSS KiB over time: %s"
          % ", ".join("%.0fs %d" % s for s in series))
    for p in problems[:30]:
        print("load: PROBLEM: %s" % p)
    return not problems


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    sys.exit(main())
