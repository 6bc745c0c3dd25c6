#!/usr/bin/env python3
"""make prof: instructions per request inside the worker, by function.

Runs build/prof (service_handle() in-process, no nginx, no FastCGI) under
valgrind --tool=callgrind for GET show, GET list of 40 and PUT on a fresh
database of 1 000 backfills, and prints the instructions per request and
the top functions (self cost) of each. Instruction counts are repeatable,
unlike timings.  Environment: PROF_N (requests per operation, 2000).
"""
import os
import re
import shutil
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
N = int(os.environ.get("PROF_N", "2000"))
CTL = os.path.join(ROOT, "bin", "backfillctl")
PROF = os.path.join(ROOT, "build", "prof")


def main():
    if not shutil.which("valgrind"):
        raise SystemExit("prof: valgrind is not installed")
    tmp = tempfile.mkdtemp(prefix="prof-")
    db = os.path.join(tmp, "prof.db")
    subprocess.run([CTL, "--db", db, "init", "--demo"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([CTL, "--db", db, "seed", "999"], check=True,
                   stdout=subprocess.DEVNULL)
    for op in ("show", "list", "put"):
        out = os.path.join(tmp, "cg." + op)
        subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=" + out, PROF, db, op, str(N)],
                       check=True, stderr=subprocess.DEVNULL)
        ann = subprocess.run(["callgrind_annotate", "--inclusive=no", out],
                             capture_output=True, text=True).stdout
        total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS",
                              ann).group(1).replace(",", ""))
        print("%s: %d instructions per request (%d requests)" %
              (op, total // N, N))
        rows = re.findall(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+)", ann, re.M)
        for ir, pct, fn in rows[1:9]:
            print("   %5s%%  %s" % (pct, fn.split("[")[0][-70:]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
