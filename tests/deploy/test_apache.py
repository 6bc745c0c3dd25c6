#!/usr/bin/env python3
"""The service behind a real Apache, in each of the ways it is deployed.

For each mode this starts its own Apache (apache2 -f CONF -DFOREGROUND,
with a private ServerRoot, PidFile and logs in a temporary folder) on
127.0.0.1 and a free port in 20000-40000, against a fresh demo database
(backfillctl init --demo), runs the founding example and a set of error
cases through it, and stops it by its pid:

  fcgid           conf/apache-fcgid.conf, the virtual host, rendered as is
                  (mod_fcgid runs the workers; BACKFILLS_CONF from
                  FcgidInitialEnv)
  cgi             the shared-host layout: cgi-bin/ copied into a document
                  root with cgi-bin/.htaccess and the document root's
                  conf/docroot.htaccess; no mod_fcgid, so plain CGI
                  (mod_cgid), the conf found beside the binary
  htaccess-fcgid  the same layout on a host that has mod_fcgid (the
                  <IfModule mod_fcgid.c> branch of cgi-bin/.htaccess)

As root, Apache runs as www-data (the temporary folder is made
traversable and the database folder writable for it); as any other user,
everything runs as that user.

Python 3 standard library only. Prints one line per check and a last
line "N passed, N failed"; exits 1 when a check failed (2 when Apache or
the binaries are missing).

Environment (all optional):
  FCGI_BIN, CTL_BIN   the binaries (default cgi-bin/backfills.fcgi,
                      bin/backfillctl; relative to the repository root)
  APACHE              the Apache binary (default apache2 in PATH or /usr/sbin)
  APACHE_MODULES      its modules folder (default /usr/lib/apache2/modules)
  APACHE_USER         the user Apache runs as under root (default www-data)
  DEPLOY_MODES        modes to run, separated by spaces or commas (default all)
  DEPLOY_KEEP=1       keep the temporary folders (else kept only on failure)
"""

import http.client
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def binary(var, default):
    p = os.environ.get(var) or default
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


FCGI_BIN = binary("FCGI_BIN", "cgi-bin/backfills.fcgi")
CTL_BIN = binary("CTL_BIN", "bin/backfillctl")
APACHE = (os.environ.get("APACHE") or shutil.which("apache2") or
          "/usr/sbin/apache2")
MODULES = os.environ.get("APACHE_MODULES", "/usr/lib/apache2/modules")
APACHE_USER = os.environ.get("APACHE_USER", "www-data")
VHOST = os.path.join(ROOT, "conf", "apache-fcgid.conf")
HTACCESS = os.path.join(ROOT, "cgi-bin", ".htaccess")
DOCROOT_HTACCESS = os.path.join(ROOT, "conf", "docroot.htaccess")
KEEP = os.environ.get("DEPLOY_KEEP") == "1"
MODES = ["fcgid", "cgi", "htaccess-fcgid"]

# The founding example (README), verbatim.
API_KEY = "zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2"
TOKEN = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
COOKIE = ("oauth_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVzIjox"
          "NjkyMzE0ODM3LjE1MTkzOSwidG9rZW4iOiJieHlQajlVcHE5N2phTC1nTGtOQTVn"
          "M2draWZwRjJwSEZZZkNzLTJ2NmpnIn0.bWqUP7Xg9PmHBW703AGPOE270Cc73F4kb"
          "0IKHLppGbM")
FOUNDING_BODY = (b'{"backfill": {"start_datetime": "2023-07-17 23:56:05",\n'
                 b'                   "end_datetime": "2023-07-18 23:56:05", '
                 b'"name": "new_name"}}')
FIELDS = ["id", "block_uuid", "completed_at", "created_at", "end_datetime",
          "failed_at", "interval_type", "interval_units", "metrics", "name",
          "pipeline_schedule_id", "pipeline_uuid", "settings",
          "start_datetime", "started_at", "status", "updated_at",
          "variables"]
BEARER = {"Authorization": "Bearer " + TOKEN, "X-API-KEY": API_KEY}

# -- results ---------------------------------------------------------------

passed = 0
failed = 0


def report(name, err):
    global passed, failed
    if err is None:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, err))
    sys.stdout.flush()


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


# -- HTTP ------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"),
                              object_pairs_hook=_pairs)
        except ValueError as e:
            raise Fail("body is not JSON (%s): %r" % (e, self.body[:300]))

    def __repr__(self):
        return "%d %r" % (self.status, self.body[:300])


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def request(port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        c.close()


def raw_request(port, data, timeout=30):
    """Sends raw bytes on a new connection and reads the answer to EOF;
    returns a Response (a chunked body is decoded), None when the server
    closed without answering."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf = b""
    try:
        c.sendall(data)
        while True:
            try:
                chunk = c.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
    finally:
        c.close()
    if not buf:
        return None
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(x.strip() for x in ln.split(":", 1))
               for ln in lines[1:] if ":" in ln]
    r = Response(int(lines[0].split()[1]), headers, body)
    if (r.header("Transfer-Encoding") or "").lower() == "chunked":
        out = b""
        while True:
            size, _, rest = body.partition(b"\r\n")
            n = int(size.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out, body = out + rest[:n], rest[n + 2:]
        r.body = out
    return r


def head(method, path, extra=()):
    """A request head with the founding example's key and token."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1",
             "Connection: close", "Content-Type: application/json",
             "X-API-KEY: " + API_KEY, "Authorization: Bearer " + TOKEN]
    return ("\r\n".join(lines + list(extra)) + "\r\n\r\n").encode()


def chunked(body, size=8000):
    """body in the chunked transfer coding, size bytes a chunk."""
    out = b""
    for i in range(0, len(body), size):
        out += b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
    return out + b"0\r\n\r\n"


def expect_error(r, code, etype):
    expect(r.status == code, "expected %d %s, got %r" % (code, etype, r))
    expect((r.header("Content-Type") or "").startswith("application/json"),
           "Content-Type %r, not JSON" % r.header("Content-Type"))
    e = r.json.get("error")
    expect(isinstance(e, dict) and e.get("code") == code and
           e.get("type") == etype, "error body %r" % r.json)


# -- the site --------------------------------------------------------------

def free_port():
    for _ in range(200):
        port = random.randint(20000, 40000)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in 20000-40000")


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       **kw)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                p.stderr.decode().strip()))
    return p


def docroot_htaccess():
    """What a shared host's document root .htaccess gets appended
    (README, "Shared hosting")."""
    with open(DOCROOT_HTACCESS) as f:
        return f.read()


MODULES_COMMON = ["mpm_event", "authz_core", "alias", "headers", "rewrite",
                  "reqtimeout"]


class Site:
    """One Apache, its folder, its database."""

    def __init__(self, mode):
        self.mode = mode
        self.proc = None
        self.port = None
        self.tmp = tempfile.mkdtemp(prefix="bf-apache-%s-" % mode)
        self.root_user = os.geteuid() == 0
        try:
            self.lay_out(mode)
        except Exception as e:
            raise RuntimeError("%s (files kept in %s)" % (e, self.tmp))

    def lay_out(self, mode):
        os.chmod(self.tmp, 0o755)      # Apache's user walks through it
        for d in ("logs", "run", "data", "htdocs"):
            os.mkdir(os.path.join(self.tmp, d), 0o755)
        self.logs = os.path.join(self.tmp, "logs")

        if mode == "fcgid":
            # conf/apache-fcgid.conf's layout: /srv/backfills/cgi-bin and
            # /srv/backfills/conf.
            self.srv = os.path.join(self.tmp, "srv")
            self.bindir = os.path.join(self.srv, "cgi-bin")
            self.conf = os.path.join(self.srv, "conf", "backfills.conf")
            os.makedirs(os.path.dirname(self.conf), 0o755)
        else:
            # A shared host's document root with cgi-bin/ copied into it.
            self.site = os.path.join(self.tmp, "site")
            self.bindir = os.path.join(self.site, "cgi-bin")
            self.conf = os.path.join(self.bindir, "backfills.conf")
        os.makedirs(self.bindir, 0o755)
        self.binary = os.path.join(self.bindir, "backfills.fcgi")
        shutil.copy2(FCGI_BIN, self.binary)
        os.chmod(self.binary, 0o755)
        if mode != "fcgid":
            shutil.copy(HTACCESS, os.path.join(self.bindir, ".htaccess"))
            with open(os.path.join(self.site, ".htaccess"), "w") as f:
                f.write(docroot_htaccess())

        # A fresh demo database, writable (with its folder, for the WAL
        # files) by the user the script runs as.
        self.db = os.path.join(self.tmp, "data", "backfills.db")
        run([CTL_BIN, "--db", self.db, "init", "--demo"])
        # The shared-host layout names it relative to the conf's folder, as
        # cgi-bin/.htaccess documents.
        dbname = (self.db if mode == "fcgid" else
                  os.path.relpath(self.db, os.path.dirname(self.conf)))
        with open(self.conf, "w") as f:
            f.write("database = %s\nrequire_authentication = on\n"
                    "jwt_secret = materia\nlog_level = info\n" % dbname)
        os.chmod(self.conf, 0o640)
        if self.root_user:
            pw = pwd.getpwnam(APACHE_USER)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            data = os.path.dirname(self.db)
            for p in [data] + [os.path.join(data, n)
                               for n in os.listdir(data)]:
                os.chown(p, self.uid, self.gid)
            os.chown(self.conf, 0, self.gid)

    # -- configuration --

    def render_vhost(self):
        text = open(VHOST).read()
        for old, new in (("/srv/backfills", self.srv),
                         ("/var/www/html", os.path.join(self.tmp, "htdocs")),
                         ("<VirtualHost *:80>",
                          "<VirtualHost 127.0.0.1:%d>" % self.port)):
            if old not in text:
                raise RuntimeError("%s: %r not found, cannot render it"
                                   % (VHOST, old))
            text = text.replace(old, new)
        path = os.path.join(self.tmp, "apache-fcgid.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def write_conf(self):
        t = self.tmp
        mods = list(MODULES_COMMON)
        if self.mode in ("fcgid", "htaccess-fcgid"):
            mods.append("fcgid")
        if self.mode == "cgi":
            mods.append("cgid")
        lines = [
            'ServerRoot "%s"' % t,
            'DefaultRuntimeDir "%s/run"' % t,
            'PidFile "%s/run/apache2.pid"' % t,
            'ErrorLog "%s/logs/error.log"' % t,
            "LogLevel warn",
            "Listen 127.0.0.1:%d" % self.port,
            "ServerName 127.0.0.1",
            "Timeout 30",
            "StartServers 1",
            "ServerLimit 2",
            "ThreadsPerChild 16",
            "MaxRequestWorkers 32",
            "MinSpareThreads 1",
            "MaxSpareThreads 32",
            # a client slow with its headers gets Apache's 408 at once
            "RequestReadTimeout header=2 body=20",
        ]
        if self.root_user:
            lines += ["User %s" % APACHE_USER, "Group #%d" % self.gid]
        lines += ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m)
                  for m in mods]
        lines += [
            'LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" '
            '\\"%{User-Agent}i\\"" combined',
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            '<FilesMatch "^\\.ht">',
            "    Require all denied",
            "</FilesMatch>",
            "AccessFileName .htaccess",
        ]
        if "fcgid" in mods:
            lines += ['FcgidIPCDir "%s/run/fcgid"' % t,
                      'FcgidProcessTableFile "%s/run/fcgid_shm"' % t]
        if "cgid" in mods:
            lines.append('ScriptSock "%s/run/cgisock"' % t)
        if self.mode == "fcgid":
            lines += ['DocumentRoot "%s/htdocs"' % t,
                      'Include "%s"' % self.render_vhost()]
        else:
            lines += ['DocumentRoot "%s"' % self.site,
                      '<Directory "%s">' % self.site,
                      "    Options FollowSymLinks",
                      "    AllowOverride All",
                      "    Require all granted",
                      "</Directory>"]
        path = os.path.join(t, "httpd.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    # -- life --

    def start(self):
        env = dict(os.environ)
        env.pop("BACKFILLS_CONF", None)
        env["APACHE_LOG_DIR"] = self.logs
        for attempt in range(3):
            self.port = free_port()
            conf = self.write_conf()
            run([APACHE, "-t", "-f", conf], env=env)
            self.proc = subprocess.Popen(
                [APACHE, "-f", conf, "-DFOREGROUND"], env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(self.logs, "stderr.log"), "ab"),
                start_new_session=True)
            deadline = time.time() + 20
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.1)
            log = self.log_text()
            if self.proc.poll() is None:
                self.stop()
                raise RuntimeError("Apache did not listen on port %d within "
                                   "20 s:\n%s" % (self.port, log[-2000:]))
            self.proc = None
            if "Address already in use" not in log:
                raise RuntimeError("Apache exited at start:\n%s"
                                   % log[-2000:])
        raise RuntimeError("no port could be bound")

    def stop(self):
        """Stops Apache by its pid (SIGTERM: its children and mod_fcgid's
        workers go with it); returns a list of problems."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                problems.append("Apache (pid %d) still running 30 s after "
                                "SIGTERM: killed" % self.proc.pid)
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        # Anything left from this site (an Apache child, a worker) is a
        # bug: found by its binary or its conf path, killed by pid.
        deadline = time.time() + 5
        while True:
            left = self.leftovers()
            if not left or time.time() > deadline:
                break
            time.sleep(0.2)
        for pid, what in left:
            problems.append("process %d (%s) left running: killed"
                            % (pid, what))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return problems

    def leftovers(self):
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % d)
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(
                        "utf-8", "replace")
                with open("/proc/%s/stat" % d) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state == "Z":
                continue
            if exe.startswith(self.tmp + "/") or self.tmp + "/" in cmd:
                out.append((int(d), cmd.strip()[:100]))
        return out

    def log_text(self):
        text = ""
        for n in sorted(os.listdir(self.logs)):
            if n.endswith(".log"):
                with open(os.path.join(self.logs, n), "rb") as f:
                    text += "--- %s\n%s" % (n, f.read().decode("utf-8",
                                                               "replace"))
        return text

    def cleanup(self, keep):
        if keep:
            print("     (kept %s)" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# -- the checks --------------------------------------------------------------

def check_status(s):
    r = request(s.port, "GET", "/api/status")
    expect(r.status == 200, "GET /api/status: %r" % r)
    expect(r.json.get("status", {}).get("ok") is True, "body %r" % r.json)


def check_founding(s):
    r = request(s.port, "PUT", "/api/pipelines/arwen_starlight/backfills/6",
                {"Content-Type": "application/json", "Cookie": COOKIE,
                 "X-API-KEY": API_KEY}, FOUNDING_BODY)
    expect(r.status == 200, "founding PUT: %r" % r)
    b = r.json.get("backfill")
    expect(isinstance(b, dict) and list(b) == FIELDS,
           "fields %r" % (list(b) if isinstance(b, dict) else b))
    want = {"id": 6, "name": "new_name", "pipeline_uuid": "arwen_starlight",
            "start_datetime": "2023-07-17 23:56:05",
            "end_datetime": "2023-07-18 23:56:05",
            "created_at": "2023-07-18 23:30:26", "status": None}
    for k, v in want.items():
        expect(b[k] == v, "%s is %r, not %r" % (k, b[k], v))
    expect(r.header("ETag") == '"6-1"' or
           re.match(r'^"6-\d+"$', r.header("ETag") or ""),
           "ETag %r" % r.header("ETag"))


def check_bearer(s):
    r = request(s.port, "GET", "/api/backfills/6", BEARER)
    expect(r.status == 200, "GET with Authorization: Bearer: %r" % r)
    expect(r.json["backfill"]["name"] == "new_name", "body %r" % r.json)
    # Without the Authorization header the same request is refused: the
    # 200 above came from the token Apache passed on.
    r = request(s.port, "GET", "/api/backfills/6", {"X-API-KEY": API_KEY})
    expect_error(r, 401, "invalid_oauth_token")
    r = request(s.port, "GET", "/api/backfills/6",
                {"X-API-KEY": API_KEY, "Authorization": "Bearer nope" * 4})
    expect_error(r, 401, "invalid_oauth_token")


def check_unknown_path(s):
    expect_error(request(s.port, "GET", "/api/nothing/here", BEARER),
                 404, "record_not_found")


def check_bad_id(s):
    expect_error(request(s.port, "GET", "/api/backfills/abc", BEARER),
                 400, "invalid_query")


def check_missing_key(s):
    expect_error(request(s.port, "GET", "/api/backfills/6",
                         {"Authorization": "Bearer " + TOKEN}),
                 401, "invalid_api_key")


def check_invalid_json(s):
    h = dict(BEARER, **{"Content-Type": "application/json"})
    expect_error(request(s.port, "PUT", "/api/backfills/6", h,
                         b'{"backfill": {"name": '), 400, "invalid_json")


def check_query(s):
    r = request(s.port, "GET",
                "/api/backfills?_limit=1&pipeline_uuid=arwen_starlight",
                BEARER)
    expect(r.status == 200, "list: %r" % r)
    expect(len(r.json["backfills"]) == 1 and
           r.json["backfills"][0]["pipeline_uuid"] == "arwen_starlight",
           "list body %r" % r.json)
    expect_error(request(s.port, "GET", "/api/backfills?_limit=0", BEARER),
                 400, "invalid_query")


def check_if_match(s):
    h = dict(BEARER, **{"Content-Type": "application/json",
                        "If-Match": '"6-999"'})
    expect_error(request(s.port, "PUT", "/api/backfills/6", h,
                         b'{"backfill": {"name": "x"}}'),
                 412, "precondition_failed")


def check_create(s):
    # A Location header with a status other than 200 must reach the
    # client as is (Apache turns "Location: /path" with 200 into an
    # internal redirect).
    h = dict(BEARER, **{"Content-Type": "application/json"})
    r = request(s.port, "POST", "/api/pipelines/arwen_starlight/backfills",
                h, b'{"backfill": {"name": "via apache"}}')
    expect(r.status == 201, "create: %r" % r)
    bid = r.json["backfill"]["id"]
    loc = r.header("Location") or ""
    expect(loc.endswith("/api/backfills/%d" % bid),
           "Location %r for id %d" % (loc, bid))


def check_too_large(s):
    h = dict(BEARER, **{"Content-Type": "application/json"})
    body = b'{"backfill": {"name": "' + b"x" * 70000 + b'"}}'
    expect_error(request(s.port, "PUT", "/api/backfills/6", h, body),
                 413, "payload_too_large")


def check_options(s):
    r = request(s.port, "OPTIONS", "/api/backfills/6")
    expect(r.status == 204, "OPTIONS: %r" % r)
    expect(r.header("Access-Control-Allow-Origin") == "*",
           "no CORS header: %r" % r.headers)


def check_apache_413(s):
    # A declared body over what mod_fcgid takes: Apache refuses it before
    # reading any (the body is never sent here), with the ErrorDocument in
    # JSON, rather than mod_fcgid's 500 after reading it all.
    r = raw_request(s.port, head("PUT", "/api/backfills/6",
                                 ["Content-Length: 5000000"]))
    expect(r is not None, "no answer")
    expect_error(r, 413, "payload_too_large")


def name_of_6(s):
    return request(s.port, "GET", "/api/backfills/6",
                   BEARER).json["backfill"]["name"]


def check_declared_over_fcgid_limit(s):
    # Sent whole, over mod_fcgid's default FcgidMaxRequestLen (128 KiB) in
    # the shared-host layout, over 1 MiB in the virtual host's: the JSON
    # 413 (before: mod_fcgid's HTML 500 in the shared-host layout).
    before = name_of_6(s)
    for size in (200000, 1100000):
        body = b'{"backfill": {"name": "big"}}'.ljust(size)
        r = raw_request(s.port, head("PUT", "/api/backfills/6",
                                     ["Content-Length: %d" % size]) + body)
        expect(r is not None, "%d bytes: no answer" % size)
        expect_error(r, 413, "payload_too_large")
    expect(name_of_6(s) == before, "a refused body changed backfill 6")


def check_chunked(s):
    # A chunked body under max_body: taken wherever the server passes it
    # on with its length (mod_fcgid does, dechunked); plain CGI gets no
    # length, so the worker asks for one (411, JSON).
    name = "chunked %s" % s.mode
    r = raw_request(s.port, head("PUT", "/api/backfills/6",
                                 ["Transfer-Encoding: chunked"]) +
                    chunked(b'{"backfill": {"name": "%s"}}' % name.encode(),
                            7))
    expect(r is not None, "no answer")
    if s.mode == "cgi":
        expect_error(r, 411, "length_required")
    else:
        expect(r.status == 200, "chunked PUT: %r" % r)
        expect(r.json["backfill"]["name"] == name, "body %r" % r.json)


def check_chunked_too_large(s):
    # Chunked bodies over max_body (64K), over the shared-host layout's
    # LimitRequestBody (64K), over the virtual host's (1 MiB) and over
    # mod_fcgid's FcgidMaxRequestLen; in 8000-byte chunks, one chunk, and
    # 3-byte chunks. Each the JSON 413 (411 under plain CGI), nothing
    # changed (before: 500 internal_error past 1 MiB in the virtual host,
    # HTML 500 past 128 KiB in the shared-host layout).
    before = name_of_6(s)
    want = (411, "length_required") if s.mode == "cgi" else \
        (413, "payload_too_large")
    body = b'{"backfill": {"name": "too big"}}'
    for size, chunk in ((70000, 8000), (200000, 8000), (200000, 200000),
                        (200000, 3), (2000000, 8000), (2000000, 2000000)):
        r = raw_request(s.port, head("PUT", "/api/backfills/6",
                                     ["Transfer-Encoding: chunked"]) +
                        chunked(body.ljust(size), chunk))
        expect(r is not None, "%d bytes in %d-byte chunks: no answer"
               % (size, chunk))
        try:
            expect_error(r, *want)
        except Fail as e:
            raise Fail("%d bytes in %d-byte chunks: %s" % (size, chunk, e))
    expect(name_of_6(s) == before, "a refused body changed backfill 6")


GET6 = b"GET /api/backfills/6 "
# What Apache answers itself, before or without the worker: (request,
# status, type). Raw bytes: most of these cannot be sent by a client
# library.
APACHE_OWN = [
    (GET6 + b"HTTP/10.0\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"FOO\r\n\r\n", 400, "bad_request"),
    (b"G(T /api/backfills/6 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /api/back fills HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /api/../../x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (GET6 + b"HTTP/1.1\r\n\r\n", 400, "bad_request"),            # no Host
    (GET6 + b"HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "bad_request"),
    (GET6 + b"HTTP/1.1\r\nHost: x/y\r\n\r\n", 400, "bad_request"),
    (GET6 + b"HTTP/1.1\r\nHost: x\r\nfoo\r\n\r\n", 400, "bad_request"),
    (GET6 + b"HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
     400, "bad_request"),
    (GET6 + b"HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-H%d: a\r\n" % i for i in range(120)) + b"\r\n",
     400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: abc\r\n\r\n", 400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: gzip\r\n\r\n", 400, "bad_request"),
    (b"GET /api/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "uri_too_long"),
    (b"GET /api/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 404, "record_not_found"),
    (b"GET /api/backfills%2f6 HTTP/1.1\r\nHost: x\r\n\r\n",
     404, "record_not_found"),
    (b"TRACE /api/backfills/6 HTTP/1.1\r\nHost: x\r\n\r\n",
     405, "method_not_allowed"),
    (b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 403, "forbidden"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n"
     b"Content-Length: 2\r\n\r\n{}", 417, "expectation_failed"),
    # headers not finished within RequestReadTimeout (2 s here)
    (GET6 + b"HTTP/1.1\r\nHost: x\r\n", 408, "request_timeout"),
]


def check_apache_own_errors(s):
    # Each in JSON, with its status (before: Apache's HTML pages, and
    # TRACE echoed back as a 200).
    for data, status, etype in APACHE_OWN:
        r = raw_request(s.port, data, timeout=10)
        expect(r is not None, "%r: no answer" % data[:50])
        try:
            expect_error(r, status, etype)
        except Fail as e:
            raise Fail("%r: %s" % (data[:50], e))


def check_conf_hidden(s):
    for path in ("/cgi-bin/backfills.conf", "/cgi-bin/",
                 "/cgi-bin/.htaccess"):
        r = request(s.port, "GET", path)
        expect(r.status == 403, "GET %s: %r" % (path, r))
        expect(b"materia" not in r.body, "GET %s leaks the conf" % path)
    r = request(s.port, "GET", "/cgi-bin/backfills.fcgi/api/backfills/6",
                BEARER)
    expect(r.status == 200, "the script's own URL: %r" % r)


def check_runner(s):
    """The process model: mod_fcgid keeps FastCGI workers (they log
    "worker started" with the conf they read); plain CGI runs one
    process per request (no such line, but its request lines)."""
    log = s.log_text()
    started = re.findall(r"worker started \(conf ([^,]+),", log)
    if s.mode == "cgi":
        expect(not started, "a FastCGI worker started under plain CGI")
        expect(re.search(r"request \S+ GET /api/backfills/abc -> 400", log),
               "no request line from the CGI process in the error log")
    else:
        expect(started, "no FastCGI worker started (log:\n%s)" % log[-1500:])
        expect(all(c == s.conf for c in started),
               "workers read %r, not %s" % (sorted(set(started)), s.conf))


def check_no_crash(s):
    log = s.log_text()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                "unexpected signal", "Premature end of script headers",
                "End of script output before headers",
                "killed by signal", "segmentation fault"):
        expect(bad not in log, "error log has %r:\n%s" % (bad, log[-2000:]))


CHECKS = [
    ("status", check_status),
    ("founding example (cookie + X-API-KEY) -> 200 new_name",
     check_founding),
    ("Authorization: Bearer reaches the script", check_bearer),
    ("unknown path -> 404 record_not_found", check_unknown_path),
    ("bad id -> 400 invalid_query", check_bad_id),
    ("missing key -> 401 invalid_api_key", check_missing_key),
    ("invalid JSON body -> 400 invalid_json", check_invalid_json),
    ("query string reaches the script", check_query),
    ("If-Match reaches the script -> 412", check_if_match),
    ("create -> 201 with Location", check_create),
    ("body over max_body -> the service's 413", check_too_large),
    ("OPTIONS -> 204 with CORS", check_options),
    ("chunked body -> taken (fcgid), 411 (plain CGI)", check_chunked),
    ("chunked body over the limits -> JSON 413 (411 plain CGI)",
     check_chunked_too_large),
]
FCGID_BODIES = [
    ("declared body over FcgidMaxRequestLen -> Apache's 413 in JSON",
     check_apache_413),
    ("bodies over mod_fcgid's limits -> JSON 413",
     check_declared_over_fcgid_limit),
]
CHECKS_BY_MODE = {
    "fcgid": FCGID_BODIES + [("Apache's own errors -> JSON",
                              check_apache_own_errors)],
    "cgi": [("conf, folder and .htaccess not served", check_conf_hidden)],
    "htaccess-fcgid": [("conf, folder and .htaccess not served",
                        check_conf_hidden)] + FCGID_BODIES,
}
CHECKS_LAST = [
    ("runs under the expected process model", check_runner),
    ("no worker crashed, no sanitizer report", check_no_crash),
]


def run_mode(mode):
    before = failed
    try:
        s = Site(mode)
    except Exception as e:
        report("%s: set up (site, database, conf)" % mode, "%s" % e)
        return
    try:
        s.start()
    except Exception as e:
        report("%s: Apache starts" % mode, "%s" % e)
        for p in s.stop():
            report("%s: Apache stops" % mode, p)
        s.cleanup(True)
        return
    report("%s: Apache starts on 127.0.0.1:%d" % (mode, s.port), None)
    for name, fn in CHECKS + CHECKS_BY_MODE.get(mode, []):
        try:
            fn(s)
            report("%s: %s" % (mode, name), None)
        except Fail as e:
            report("%s: %s" % (mode, name), str(e))
        except Exception as e:
            report("%s: %s" % (mode, name), "%s: %s" % (type(e).__name__, e))
    problems = s.stop()
    report("%s: Apache stops, nothing left running" % mode,
           "; ".join(problems) if problems else None)
    for name, fn in CHECKS_LAST:
        try:
            fn(s)
            report("%s: %s" % (mode, name), None)
        except Fail as e:
            report("%s: %s" % (mode, name), str(e))
    s.cleanup(KEEP or failed > before)


def main():
    modes = MODES
    if os.environ.get("DEPLOY_MODES"):
        modes = [m for m in re.split(r"[\s,]+",
                                     os.environ["DEPLOY_MODES"]) if m]
        bad = [m for m in modes if m not in MODES]
        if bad:
            print("unknown mode(s) %s; known: %s" % (bad, " ".join(MODES)))
            return 2
    missing = [p for p in (FCGI_BIN, CTL_BIN, APACHE)
               if not os.access(p, os.X_OK)]
    missing += [p for p in ("%s/mod_fcgid.so" % MODULES,
                            "%s/mod_cgid.so" % MODULES)
                if not os.path.exists(p)]
    if missing:
        print("missing: %s (make; apt-get install apache2-bin "
              "libapache2-mod-fcgid)" % ", ".join(missing))
        print("0 passed, 1 failed")
        return 2
    for m in modes:
        run_mode(m)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
