#!/usr/bin/env python3
"""
make exec-bench: how fast one executor hands out and reports runs, and
how long a claim takes. Not a test: it prints figures.

The service is started as `make run` starts it (scripts/serve.sh through
tests/e2e/harness.py: nginx, the pre-fork pool of 4 workers per core,
the demo conf, durability = full) on a free port with a fresh database.
Then:

  1. runs/s: a backfill of RUNS daily runs, one bin/backfills-exec
     --once with the command `true`, at concurrency 1 and 4: the runs
     divided by the executor's wall time, from start to exit (claims,
     keeper and sh started, the report sent, for every run);
  2. claim latency: CLAIMS POST /api/pipeline_runs/claim on one
     keep-alive connection from this script, each handing out a run
     (never reported): p50, p99 and the mean.

Environment: RUNS (default 1000), CLAIMS (default 1000), EXEC_BIN,
FCGI_BIN, CTL_BIN.
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness          # noqa: E402

EXEC_BIN = harness.binary("EXEC_BIN", "bin/backfills-exec")
TOKEN = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
HEADERS = {"X-API-KEY": harness.API_KEY, "Authorization": "Bearer " + TOKEN,
           "Content-Type": "application/json"}
RUNS = int(os.environ.get("RUNS", "1000"))
CLAIMS = int(os.environ.get("CLAIMS", "1000"))


def backfill(srv, days, start="2000-01-01"):
    """A started backfill of `days` daily runs; returns its id."""
    import datetime
    end = (datetime.date.fromisoformat(start) +
           datetime.timedelta(days=days - 1)).isoformat()
    r = srv.request("POST", "/api/pipelines/%s/backfills"
                    % harness.DEMO_PIPELINE,
                    {"backfill": {"name": "bench", "start_datetime": start,
                                  "end_datetime": end, "interval_type": "day",
                                  "interval_units": 1}}, headers=HEADERS)
    assert r.status == 201, r
    bid = r.json["backfill"]["id"]
    r = srv.request("PUT", "/api/backfills/%d" % bid,
                    {"backfill": {"status": "initial"}}, headers=HEADERS)
    assert r.status == 200, r
    return bid


def runs_per_second(srv, tmp, concurrency):
    bid = backfill(srv, RUNS)
    conf = os.path.join(tmp, "exec-%d.conf" % concurrency)
    with open(conf, "w") as f:
        f.write("url = http://127.0.0.1:%d/api\napi_key = %s\ntoken = %s\n"
                "concurrency = %d\npoll_interval = 1s\nlog_dir = %s\n"
                "log_level = warn\n[pipeline %s]\ncommand = true\n"
                % (srv.port, harness.API_KEY, TOKEN, concurrency, tmp,
                   harness.DEMO_PIPELINE))
    t0 = time.monotonic()
    p = subprocess.run([EXEC_BIN, "-c", conf, "--once"],
                       stdin=subprocess.DEVNULL, timeout=600)
    secs = time.monotonic() - t0
    assert p.returncode == 0, p
    r = srv.request("GET", "/api/backfills/%d" % bid, headers=HEADERS)
    assert r.json["backfill"]["status"] == "completed", r.json
    return RUNS / secs, secs


def claim_latency(srv):
    backfill(srv, CLAIMS, start="1990-01-01")
    body = json.dumps({"claim": {"executor": "bench", "pipelines": None}})
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    times = []
    for _ in range(CLAIMS):
        t = time.perf_counter()
        c.request("POST", "/api/pipeline_runs/claim", body, HEADERS)
        r = c.getresponse()
        data = r.read()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status == 200 and json.loads(data)["pipeline_run"], data
        if r.getheader("Connection", "").lower() == "close":
            c.close()
    c.close()
    times.sort()
    return (times[len(times) // 2], times[int(len(times) * 0.99) - 1],
            sum(times) / len(times))


def main():
    srv = harness.Server(workers=4 * (os.cpu_count() or 1), name="xbench")
    srv.start()
    tmp = tempfile.mkdtemp(prefix="bf-xbench-")
    try:
        print("exec-bench: the service on 127.0.0.1:%d (%d workers, demo "
              "conf), %d cores" % (srv.port, srv.workers, os.cpu_count()))
        for c in (1, 4):
            rate, secs = runs_per_second(srv, tmp, c)
            print("exec-bench: concurrency %d: %d runs of `true` in %.2f s:"
                  " %.0f runs/s" % (c, RUNS, secs, rate))
        p50, p99, mean = claim_latency(srv)
        print("exec-bench: POST claim x %d: p50 %.2f ms, p99 %.2f ms, "
              "mean %.2f ms" % (CLAIMS, p50, p99, mean))
    finally:
        srv.stop()
        subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
