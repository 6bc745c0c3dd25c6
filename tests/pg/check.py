#!/usr/bin/env python3
"""
make pg-check: the service on PostgreSQL, end to end. Starts a throwaway
PostgreSQL server (tests/pg/pg_server.sh: initdb + pg_ctl in a folder
under /tmp, a unix socket there, no TCP), runs against it

  1. the whole end-to-end suite (tests/e2e through run_e2e.py), under the
     pre-fork pool
  2. its core modules again under spawn-fcgi
  3. the store's unit suite (tests/unit/test_store.c) on this driver
  4. tests/pg/test_pg_store.py (schema, connections, backfillctl copy)
  5. tests/pg/test_two_pools.py (two pools, one database)
  6. the executor suite (tests/exec through run_exec.py): real
     executors, two on one service among them

then stops the server (by its pid file, with pg_ctl) and removes its
folder. Ends with one line per step and exits non-zero when one failed.
FCGI_BIN, CTL_BIN and EXEC_BIN are passed on, UNIT_RUNNER names the unit runner;
PG_DIR names a running server to use instead of starting one.

With SAN=1 (make check SAN=1) steps 2 and 6 are left out: the same
sanitized binaries have run them already on SQLite (the executor and the
spawn-fcgi worker do nothing there that depends on the store), and the
plain make check runs them on PostgreSQL; this keeps CI's second pass
about two minutes shorter.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pgtest           # noqa: E402

# (name, command, environment, run under SAN=1 too)
STEPS = [
    ("end-to-end suite (pre-fork pool)", ["run_e2e.py"], {}, True),
    ("core modules under spawn-fcgi",
     ["run_e2e.py", "test_founding", "test_routes", "test_update",
      "test_concurrency"], {"SUPERVISOR": "spawn-fcgi"}, False),
    ("store unit suite", None, {"CK_RUN_SUITE": "store"}, True),
    ("PostgreSQL store", ["test_pg_store.py"], {}, True),
    ("two pools, one database", ["test_two_pools.py"], {}, True),
    ("executors (tests/exec)", ["run_exec.py"], {}, False),
]


def built_with_postgres():
    ctl = os.path.join(pgtest.ROOT, os.environ.get("CTL_BIN",
                                                   "bin/backfillctl"))
    p = subprocess.run([ctl, "--db", "postgresql:///none?host=/nonexistent",
                        "pipeline", "list"], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    return b"no PostgreSQL store" not in p.stderr


def main():
    if not built_with_postgres():
        print("pg-check: this build has no PostgreSQL store: install "
              "libpq-dev and build again", file=sys.stderr)
        return 1
    pg = pgtest.PgServer().start()
    results = []
    try:
        env = dict(os.environ, PG_DIR=pg.dir)
        print("pg-check: PostgreSQL in %s" % pg.dir)
        sys.stdout.flush()
        san = os.environ.get("SAN") == "1"
        for name, argv, extra, under_san in STEPS:
            if san and not under_san:
                print("\n== %s: left out under SAN=1 (see check.py)" % name)
                continue
            print("\n== %s" % name)
            sys.stdout.flush()
            t = time.monotonic()
            if argv is None:
                # the unit runner, its store suite on this server
                cmd = [os.path.join(pgtest.ROOT, os.environ.get(
                    "UNIT_RUNNER", "build/unit-runner"))]
                extra = dict(extra, BACKFILLS_TEST_PG=pg.uri("postgres"))
            else:
                cmd = ([sys.executable, os.path.join(HERE, argv[0])] +
                       argv[1:])
            rc = subprocess.run(cmd, env=dict(env, **extra),
                                cwd=pgtest.ROOT,
                                stdin=subprocess.DEVNULL).returncode
            results.append((name, rc, time.monotonic() - t))
    finally:
        pg.stop()
    print()
    for name, rc, secs in results:
        print("pg-check: %-36s %s (%.0f s)" % (name, "passed" if rc == 0
                                                else "FAILED", secs))
    return 0 if all(rc == 0 for _, rc, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
