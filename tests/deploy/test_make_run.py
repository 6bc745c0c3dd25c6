#!/usr/bin/env python3
"""`make run` from a fresh clone inside a folder of mode 0700, as root
clones into /root (0700 on every Debian install) and types `make run`.

  1. git clone of this repository (its committed HEAD) into DIR/p, where
     DIR is a new folder of mode 0700 (a home);
  2. `make run PORT=<free port> WORKERS=2` there, in the foreground as a
     person would start it, with a clean environment (no MAKEFLAGS or
     RUNDIR from the calling make);
  3. it serves: GET /api/status answers 200 and the founding example
     (README) answers 200 with the renamed backfill;
  4. SIGTERM to make stops it: make exits, and nothing it started (nginx,
     the pool, its workers) is left running;
  5. DIR kept its mode 0700 (the fix is never to loosen the home).

As root, nginx runs as www-data, which cannot enter DIR: the run folder
must be elsewhere (scripts/serve.sh: /run/backfills-<checksum>). As any
other user the same test runs, nginx as that user.

Python 3 standard library only. Prints one line per check and
"N passed, N failed"; exits 1 when a check failed.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402  (the founding example's credentials)

FOUNDING_BODY = (b'{"backfill": {"start_datetime": "2023-07-17 23:56:05",\n'
                 b'                   "end_datetime": "2023-07-18 23:56:05", '
                 b'"name": "new_name"}}')
# make's own variables, which would otherwise reach the clone's make.
DROP_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "RUNDIR",
            "DB", "PORT", "WORKERS", "FCGI_BIN", "CTL_BIN", "SUPERVISOR",
            "BACKFILLS_CONF")

passed = failed = 0


def report(name, err=None):
    global passed, failed
    if err is None:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, err))
    sys.stdout.flush()


def request(port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def ours(marker):
    """Live processes whose environment holds marker (what make started)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/stat" % d, "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and marker in env:
            pids.append(int(d))
    return pids


def main():
    home = tempfile.mkdtemp(prefix="bf-home-")       # mode 0700
    clone = os.path.join(home, "p")
    log_path = os.path.join(home, "make-run.log")
    keep = False
    proc = None
    marker = ("BF_MAKE_RUN_TEST=%s" % home).encode()
    rundir = None
    try:
        subprocess.run(["git", "clone", "-q", ROOT, clone], check=True)
        report("git clone into a 0700 folder (%s)" % home)
        port = harness.free_port()
        env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        env["BF_MAKE_RUN_TEST"] = home
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                ["make", "run", "PORT=%d" % port, "WORKERS=2"], cwd=clone,
                env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)

        def log_text():
            with open(log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")

        # Build (a few seconds) and start.
        deadline = time.monotonic() + 180
        while "Serving on" not in log_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("make run did not serve (exit %s):\n%s"
                                   % (proc.poll(), log_text()[-3000:]))
            time.sleep(0.2)
        m = re.search(r"^Run folder \(.*\): (\S+)$", log_text(), re.M)
        rundir = m.group(1) if m else None
        report("make run PORT=%d serves" % port)

        status, body = request(port, "GET", "/api/status")
        report("GET /api/status -> 200",
               None if status == 200 else "%d %r" % (status, body[:200]))
        status, body = request(
            port, "PUT", "/api/pipelines/arwen_starlight/backfills/6",
            {"Content-Type": "application/json",
             "Cookie": harness.OAUTH_COOKIE, "X-API-KEY": harness.API_KEY},
            FOUNDING_BODY)
        ok = status == 200 and b'"name": "new_name"' in body
        report("the founding example -> 200 new_name",
               None if ok else "%d %r" % (status, body[:300]))
        if os.geteuid() == 0:
            inside = rundir is not None and \
                os.path.realpath(rundir).startswith(home + "/")
            report("as root, the run folder is outside the 0700 folder",
                   None if rundir and not inside else "run folder %r"
                   % rundir)

        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
            report("SIGTERM: make run exits")
        except subprocess.TimeoutExpired:
            report("SIGTERM: make run exits", "still running after 20 s")
        deadline = time.monotonic() + 10
        while ours(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = ours(marker)
        report("nothing left running (nginx, pool, workers)",
               None if not left else "pids %s" % left)
        mode = stat.S_IMODE(os.stat(home).st_mode)
        report("the folder kept mode 0700",
               None if mode == 0o700 else "mode %o" % mode)
    except Exception as e:
        report("make run from a fresh clone", "%s: %s" % (type(e).__name__, e))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in ours(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        keep = failed > 0 or os.environ.get("DEPLOY_KEEP") == "1"
        if keep:
            print("     (kept %s)" % home)
        else:
            shutil.rmtree(home, ignore_errors=True)
            if rundir and rundir.startswith("/run/backfills-"):
                shutil.rmtree(rundir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
