#!/usr/bin/env python3
"""
make pg-bench: tests/bench/bench.py unchanged, with the service's
databases (the small one, the big one) in PostgreSQL instead of SQLite
files: a throwaway server (fsync on, as a production one) on a unix
socket on the same machine, or $PG_DIR's. The floor keeps its file (it
never reads it). Same environment as make bench (QUICK=1, WORKERS...).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "bench")))

import bench            # noqa: E402
import pgtest           # noqa: E402


def main():
    pg = pgtest.PgServer().start()
    names = {}
    real_join = os.path.join

    def join(*parts):
        # bench.main() names its databases os.path.join(tmp, "small.db")
        # and (tmp, "big.db"): those become PostgreSQL databases.
        if parts and parts[-1] in ("small.db", "big.db"):
            if parts[-1] not in names:
                names[parts[-1]] = pg.createdb(parts[-1][:-3])
            return pg.uri(names[parts[-1]])
        return real_join(*parts)

    print("pg-bench: the service's databases in PostgreSQL (%s)" % pg.dir)
    bench.os.path.join = join
    try:
        bench.main()
    finally:
        bench.os.path.join = real_join
        for n in names.values():
            pg.dropdb(n)
        pg.stop()


if __name__ == "__main__":
    main()
