#!/usr/bin/env python3
"""
Runs the fault tests (make fault): every tests/fault/test_*.py module, or
the tests named on the command line (e.g. `run.py test_kill
test_locked.TestLocked`). Each test injects one fault into a real service
(nginx + the pre-fork pool from scripts/serve.sh, or the worker as plain
CGI, or the pool on its own) and asserts that the service keeps answering
properly, that no acknowledged write is lost and that no refused write was
applied.

Ends with one line `N passed, N failed` (`, N skipped` when any) and exits
non-zero on any failure or error. Environment: as tests/e2e/harness.py
(FCGI_BIN, CTL_BIN, E2E_KEEP=1); -v prints one line per test.
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
