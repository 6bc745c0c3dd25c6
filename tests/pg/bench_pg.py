#!/usr/bin/env python3
"""
make pg-bench: the service on PostgreSQL beside the service on SQLite, in
one run, with make bench's method (tests/bench/bench.py: wrk, the two
measured in alternating rounds after a second of warm-up each, the same
nginx and workers): a throwaway PostgreSQL server (fsync on, as a
production one) on a unix socket on this machine, or $PG_DIR's, and a
SQLite file, each seeded with the same 1 000 backfills. Prints each
operation's requests per second and latency on both, and PostgreSQL's
ratio to SQLite; the budget is GET show >= 0.70 x SQLite's. Same
environment as make bench (QUICK=1, WORKERS, ROUNDS, SECONDS_EACH).
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "bench")))

import bench            # noqa: E402
import pgtest           # noqa: E402


def main():
    pg = pgtest.PgServer().start()
    tmp = tempfile.mkdtemp(prefix="pg-bench-")
    os.chmod(tmp, 0o755)    # nginx's workers (www-data under root) reach it
    name = pg.createdb("bench")
    uri = pg.uri(name)
    small = os.path.join(tmp, "small.db")
    bench.seed(small, 1000)
    bench.seed(uri, 1000)
    print("make pg-bench: PostgreSQL (%s) beside SQLite, %d workers, wrk "
          "-c %d%s, %d rounds of %d s per measure%s" % (
              pg.dir, bench.WORKERS, bench.CONNS,
              " (real-time priority)" if bench.CLIENT else "", bench.ROUNDS,
              bench.SECONDS, " (QUICK)" if bench.QUICK else ""))
    print("%-16s %12s %8s %12s %8s %9s" % (
        "operation", "sqlite r/s", "p99 ms", "postgres r/s", "p99 ms",
        "pg/sqlite"))
    sq = bench.Server(tmp, "sqlite", small, bench.FCGI_BIN, "prefork")
    pq = bench.Server(tmp, "postgres", uri, bench.FCGI_BIN, "prefork")
    ratios = {}
    try:
        for s in (sq, pq):
            bench.warm(s.port, "GET", bench.OPS[0][2])
        for op, method, path, body in bench.OPS:
            a, b = bench.measure([sq.port, pq.port], method, path, body)
            ratios[op] = b[0] / a[0] if a[0] else 0.0
            print("%-16s %12.0f %8.2f %12.0f %8.2f %9.2f" % (
                op, a[0], a[2], b[0], b[2], ratios[op]))
            sys.stdout.flush()
            if a[4] or b[4]:
                print("  errors: sqlite %d, postgres %d" % (a[4], b[4]))
    finally:
        sq.stop()
        pq.stop()
        pg.dropdb(name)
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    ok = ratios.get("GET show", 0) >= 0.70
    print("budget %-40s %s" % ("GET show on PostgreSQL >= 0.70 x SQLite",
                               "met" if ok else "MISSED"))


if __name__ == "__main__":
    main()
