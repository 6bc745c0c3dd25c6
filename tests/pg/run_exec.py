#!/usr/bin/env python3
"""
The executor suite of tests/exec, unchanged, against PostgreSQL: every
Server of the harness gets a fresh database on the throwaway server
($PG_DIR, or one started here), as tests/pg/run_e2e.py does for the
end-to-end suite (whose patch of harness.Server this reuses). Two
executors on one service, kill -9 mid-run, leases and retries: the
claims' exclusivity and the leases are the store's, so they are proven
on this driver too.

Arguments are tests/exec/run.py's (test names, -v).
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXEC = os.path.normpath(os.path.join(HERE, "..", "exec"))
sys.path.insert(0, HERE)

import run_e2e          # noqa: E402  (patches harness.Server)

sys.path.insert(0, EXEC)
_spec = importlib.util.spec_from_file_location(
    "e2e_run", os.path.join(HERE, "..", "e2e", "run.py"))
e2e_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_run)


def main(argv):
    run_e2e.PG.start()
    try:
        return e2e_run.main(argv, EXEC)
    finally:
        run_e2e.PG.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
