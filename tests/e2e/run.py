#!/usr/bin/env python3
"""
Runs the end-to-end suite: every tests/e2e/test_*.py module, or the tests
named on the command line (e.g. `run.py test_routes test_update.TestStatus`).
Ends with one line `N passed, N failed` (`, N skipped` when any) and exits
non-zero on any failure or error (a failed server start or stop counts).

  -v   one line per test
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(argv, here=HERE):
    """Runs the suite of the folder here (tests/fault reuses this)."""
    verbosity = 1
    names = []
    for a in argv:
        if a in ("-v", "--verbose"):
            verbosity = 2
        else:
            names.append(a[:-3] if a.endswith(".py") else a)
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(here, pattern="test_*.py", top_level_dir=here)
    runner = unittest.TextTestRunner(verbosity=verbosity,
                                     resultclass=CountingResult,
                                     stream=sys.stderr)
    t0 = time.monotonic()
    result = runner.run(suite)
    # a test counts once however many of its subtests failed
    failed_ids = set()
    for test, _ in result.failures + result.errors:
        failed_ids.add(getattr(test, "test_case", test).id())
    failed = len(failed_ids) + len(result.unexpectedSuccesses)
    line = "%d passed, %d failed" % (result.passed, failed)
    if result.skipped:
        line += ", %d skipped" % len(result.skipped)
    sys.stderr.flush()
    sys.stdout.write("(%.1f s)\n" % (time.monotonic() - t0))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 1 if failed or result.testsRun == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
