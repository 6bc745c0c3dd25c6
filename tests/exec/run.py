#!/usr/bin/env python3
"""
Runs the executor tests (make exec-check): every tests/exec/test_*.py
module, or the tests named on the command line (e.g. `run.py test_runs
test_faults.TestKill`). Each test starts the real service (nginx +
workers, tests/e2e/harness.py) and real executors (bin/backfills-exec)
running tests/exec/job.sh, and checks what ran against the file those
commands write and what the service says.

Ends with one line `N passed, N failed` (`, N skipped` when any) and exits
non-zero on any failure or error. Environment: EXEC_BIN, and what
tests/e2e/harness.py takes (FCGI_BIN, CTL_BIN, E2E_KEEP=1); -v prints one
line per test.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The same runner as the end-to-end suite, run on this folder.
_spec = importlib.util.spec_from_file_location(
    "e2e_run", os.path.join(HERE, "..", "e2e", "run.py"))
e2e_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_run)

if __name__ == "__main__":
    sys.exit(e2e_run.main(sys.argv[1:], HERE))
