"""The worker's sandbox (issue 5): after start-up each worker runs with
no-new-privileges and a seccomp filter; a forbidden call kills it rather
than runs; `sandbox = off` leaves it out. Read from /proc, where the
kernel reports both."""

import os
import signal
import subprocess

from harness import FCGI_BIN, ServerTestCase


def workers_of(server):
    """The pool's workers: processes of this server running FCGI_BIN
    whose parent runs it too."""
    pids = []
    for pid in server._our_pids():
        try:
            with open("/proc/%d/status" % pid) as f:
                status = f.read()
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"backfills.fcgi" not in cmd or b"-s" not in cmd.split(b"\0"):
            continue
        ppid = int(status.split("PPid:")[1].split()[0])
        try:
            with open("/proc/%d/cmdline" % ppid, "rb") as f:
                if b"backfills.fcgi" in f.read():
                    pids.append((pid, status))
        except OSError:
            pass
    return pids


def field(status, name):
    return status.split(name + ":")[1].split()[0]


class TestSandboxOn(ServerTestCase):

    def test_workers_are_sandboxed(self):
        # A request makes sure every worker got past start-up.
        self.assertEqual(self.req("GET", "/api/backfills/6").status, 200)
        ws = workers_of(self.server)
        self.assertTrue(ws, "no pool workers found")
        for pid, status in ws:
            self.assertEqual(field(status, "NoNewPrivs"), "1", pid)
            self.assertEqual(field(status, "Seccomp"), "2", pid)

    def test_forbidden_call_kills(self):
        # -X enters the same sandbox, then calls execve.
        p = subprocess.run([FCGI_BIN, "-X"], capture_output=True,
                           timeout=10)
        self.assertEqual(p.returncode, -signal.SIGSYS, p.stderr)

    def test_killed_worker_is_replaced_and_service_goes_on(self):
        ws = workers_of(self.server)
        os.kill(ws[0][0], signal.SIGSYS)
        for _ in range(40):
            now = workers_of(self.server)
            if len(now) == len(ws) and ws[0][0] not in [p for p, _ in now]:
                break
            import time
            time.sleep(0.1)
        self.assertEqual(len(workers_of(self.server)), len(ws))
        for _ in range(len(ws) + 1):
            self.assertEqual(self.req("GET", "/api/backfills/6").status,
                             200)


class TestSandboxOff(ServerTestCase):
    EXTRA_CONF = "sandbox = off"

    def test_workers_unsandboxed(self):
        self.assertEqual(self.req("GET", "/api/backfills/6").status, 200)
        ws = workers_of(self.server)
        self.assertTrue(ws, "no pool workers found")
        for pid, status in ws:
            self.assertEqual(field(status, "Seccomp"), "0", pid)
