"""The pool as an operator runs it (README "Operations"):

- SIGHUP reads the conf again and replaces the workers one at a time,
  each after its request: under load, no request fails, and what the
  new conf says is served; a conf that does not load is logged and the
  old one kept (no worker replaced);
- max_requests recycles a worker after that many requests, no request
  failing;
- socket activation: a socket handed over as systemd does (fd 3,
  LISTEN_PID, LISTEN_FDS) is served, and while the pool restarts the
  connections wait in it and are answered by the new pool instead of
  being refused."""

import os
import signal
import socket
import subprocess
import threading
import time

from common import (FCGI_BIN, PIPELINE, FaultCase, Pool, fcgi_request,
                    tempdir, wait_for)


def load(pool, stop, out):
    """Requests until stop is set; appends each status (None: no
    answer; the error's name: the connection failed)."""
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if i % 3 == 0:
                r = pool.request("POST", "/api/pipelines/%s/backfills"
                                 % PIPELINE,
                                 {"backfill": {"name": "l%d" % i}})
            else:
                r = pool.request("GET", "/api/backfills/6")
        except OSError as e:    # a connection dropped while sending
            out.append(type(e).__name__)
            continue
        out.append(r.status if r is not None else None)


class TestPoolOps(FaultCase):

    def test_reload_under_load(self):
        with tempdir("bf-fault-reload-") as d:
            pool = Pool(d, workers=3)
            stop, out = threading.Event(), []
            ts = [threading.Thread(target=load, args=(pool, stop, out))
                  for _ in range(4)]
            try:
                for t in ts:
                    t.start()
                time.sleep(0.5)
                # five reloads in a row, each replacing every worker
                # (a worker stuck in its accept shows as one not
                # replaced, a dropped connection in out)
                for k in range(5):
                    old = set(pool.workers())
                    with open(pool.conf, "a") as f:
                        f.write("project_name = after the reload\n")
                    os.kill(pool.pid, signal.SIGHUP)
                    self.assertTrue(wait_for(
                        lambda: len(pool.workers()) == 3 and
                        not old & set(pool.workers()), 8),
                        "reload %d: workers not all replaced" % k)
                    time.sleep(0.2)
            finally:
                stop.set()
                for t in ts:
                    t.join(20)
            self.assertGreater(len(out), 100)
            self.assertEqual({s for s in out} - {200, 201}, set(),
                             "failed during the reload: %r"
                             % sorted({s for s in out if s not in
                                       (200, 201)}, key=str))
            r = pool.request("GET", "/api/projects")
            self.assertEqual(r.json["projects"][0]["name"],
                             "after the reload")
            # a conf that does not load: logged, the old one kept
            now = set(pool.workers())
            with open(pool.conf, "a") as f:
                f.write("no_such_key = 1\n")
            os.kill(pool.pid, signal.SIGHUP)
            time.sleep(1)
            self.assertEqual(set(pool.workers()), now)
            self.assertIn("the conf in use is kept", pool.log_text())
            self.assertEqual(pool.request("GET", "/api/backfills/6").status,
                             200)
            self.assertEqual(pool.stop(), [])

    def test_max_requests_recycles(self):
        with tempdir("bf-fault-recycle-") as d:
            pool = Pool(d, workers=2, extra="max_requests = 5")
            seen = set()
            try:
                for _ in range(40):
                    seen |= set(pool.workers())
                    r = pool.request("GET", "/api/backfills/6")
                    self.assertIsNotNone(r)
                    self.assertEqual(r.status, 200, r)
                self.assertGreaterEqual(len(seen), 6)
                self.assertIn("recycled", pool.log_text())
                self.assertNotIn("replacing it", pool.log_text())
            finally:
                self.assertEqual(pool.stop(), [])

    def test_socket_activation_keeps_connections_through_a_restart(self):
        with tempdir("bf-fault-sockact-") as d:
            # a pool for its database and conf; stopped, the socket made
            # here as systemd would, and handed over on fd 3
            pool = Pool(d, workers=2)
            conf = pool.conf
            pool.stop()
            path = os.path.join(d, "activated.sock")
            lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lsock.bind(path)
            lsock.listen(128)

            def start():
                def child():
                    os.dup2(lsock.fileno(), 3)
                    os.environ["LISTEN_PID"] = str(os.getpid())
                    os.environ["LISTEN_FDS"] = "1"
                return subprocess.Popen(
                    [FCGI_BIN, "-c", conf, "-s", path, "-n", "2"],
                    preexec_fn=child, pass_fds=(lsock.fileno(),),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True)
            p = start()
            try:
                self.assertTrue(wait_for(lambda: fcgi_request(
                    path, "GET", "/api/status") is not None, 10))
                r = fcgi_request(path, "GET", "/api/backfills/6")
                self.assertEqual(r.status, 200, r)
                # the pool stops; requests sent meanwhile wait in the
                # socket, which stays (systemd's), and the next pool
                # answers them
                p.send_signal(signal.SIGTERM)
                p.wait(15)
                self.assertTrue(os.path.exists(path))
                out = []
                ts = [threading.Thread(target=lambda: out.append(
                    fcgi_request(path, "GET", "/api/backfills/6",
                                 timeout=20))) for _ in range(5)]
                for t in ts:
                    t.start()
                time.sleep(0.5)
                p = start()
                for t in ts:
                    t.join(25)
                self.assertEqual([r.status if r else None for r in out],
                                 [200] * 5)
            finally:
                p.send_signal(signal.SIGTERM)
                p.wait(15)
                lsock.close()
