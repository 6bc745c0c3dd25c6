#!/usr/bin/env python3
"""README.md's deployment steps, run as written from a fresh clone.

Each fenced block of README.md right after a line `<!-- test: NAME ... -->`
belongs to the sequences NAME...; a sequence is its blocks in README
order, and must end with a curl that answers 200 (curl -f). So the test
runs what the README says, and the README cannot drift from what works.

  server          Your own server: install, the systemd unit, nginx
  pool            the same, the pool started by hand instead of the unit
  spawn-fcgi      the same, spawn-fcgi instead of the unit
  apache          Apache with mod_fcgid, from the checkout in /srv/backfills
  shared-hosting  a shared host's public_html, plain CGI

Each starts from a fresh `git clone` of this repository (its committed
HEAD), with a clean environment (no MAKEFLAGS from the calling make).
What cannot run as written here is substituted, and only that
(README, "How these steps are tested"):

- server, pool, spawn-fcgi, apache run as root in new mount, PID and
  network namespaces (unshare): /usr, /etc and /var are overlays of this
  system's (every write goes to a temporary folder), /run is empty (but
  for /run/lock, as after boot), the
  loopback is the namespace's own (port 80 is free), and every process
  started dies with the namespace. The commands run there as written,
  from the clone (apache: the clone is mounted at /srv/backfills).
  systemctl is tests/deploy/standin/systemctl, which runs the units'
  Exec lines as their User= (systemd is not PID 1 here).
- shared-hosting: `~` is a temporary home, the host is a private Apache
  (tests/deploy/test_apache.py's, mod_cgid, AllowOverride All) whose
  document root is ~/public_html, SITE= its URL; the commands run as
  Apache's user, as they would as the account's user under suexec.

After each sequence a few facts are checked: the socket's owner and mode,
the user the workers run as. Needs root, unshare and overlayfs for the
namespaced sequences (else they are reported skipped), Apache (Debian:
apache2, libapache2-mod-fcgid), git.

Python 3 standard library only. Prints one line per check and
"N passed, N failed" (", N skipped"); exits 1 when a check failed.
  README_SEQUENCES="server apache"  only these
  DEPLOY_KEEP=1                     keep the temporary folders
"""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
README = os.path.join(ROOT, "README.md")
STANDIN = os.path.join(HERE, "standin")
sys.path.insert(0, HERE)
import test_apache  # noqa: E402  (its private Apache, for shared hosting)

SEQUENCES = ["server", "pool", "spawn-fcgi", "apache", "shared-hosting"]
NAMESPACED = ["server", "pool", "spawn-fcgi", "apache"]
KEEP = os.environ.get("DEPLOY_KEEP") == "1"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TIMEOUT = 600

# What is checked after each sequence, in its namespace: printed lines
# "fact: value" compared with the expected ones.
SOCKET_FACTS = """
echo "socket: $(stat -c '%U:%G %a' /run/backfills/backfills.sock)"
echo "workers: $(ps -o user= -C backfills.fcgi | sort -u | tr '\\n' ' ')"
"""
FACTS = {
    "server": (SOCKET_FACTS, {"socket": "backfills:www-data 660",
                              "workers": "backfills"}),
    "pool": (SOCKET_FACTS, {"socket": "backfills:www-data 660",
                            "workers": "backfills"}),
    "spawn-fcgi": (SOCKET_FACTS, {"socket": "backfills:www-data 660",
                                  "workers": "backfills"}),
    "apache": ('echo "workers: $(ps -o user= -C backfills.fcgi | sort -u'
               ' | tr \'\\n\' \' \')"\n', {"workers": "www-data"}),
}

passed = failed = skipped = 0


def report(name, err=None, skip=False):
    global passed, failed, skipped
    if skip:
        skipped += 1
        print("skip %s: %s" % (name, err))
    elif err is None:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, err))
    sys.stdout.flush()


# -- the README's blocks -----------------------------------------------------

MARK = re.compile(r"^<!-- test: ([a-z -]+) -->\s*$")


def sequences():
    """NAME -> the shell text of its blocks, in README order."""
    out = {}
    with open(README) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            raise RuntimeError("README.md:%d: a test marker not followed by "
                               "a fenced block" % i)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        code = "\n".join(lines[i + 1:j]) + "\n"
        for name in m.group(1).split():
            if name not in SEQUENCES:
                raise RuntimeError("README.md:%d: unknown sequence %r"
                                   % (i, name))
            out[name] = out.get(name, "") + code
        i = j + 1
    return out


def last_command(code):
    """The last command of a shell text (continued lines joined)."""
    cmds = [ln.strip() for ln in code.replace("\\\n", " ").split("\n")
            if ln.strip() and not ln.strip().startswith("#")]
    return cmds[-1] if cmds else ""


def clone(dest):
    subprocess.run(["git", "clone", "-q", ROOT, dest], check=True)


def clean_env(**extra):
    env = {"PATH": PATH, "LANG": "C.UTF-8", "TERM": "dumb",
           "HOME": "/root"}
    env.update(extra)
    return env


def split_output(out):
    """(the README commands' output, {fact: value})."""
    text, _, facts = out.partition("\n--- facts\n")
    got = {}
    for line in facts.split("\n"):
        k, sep, v = line.partition(": ")
        if sep:
            got[k] = v.strip()
    return text, got


def check_answer(name, text):
    """The final curl printed JSON that is no error. (The service ends a
    body without a newline, so the README's last curls share the last
    line: it is read as one JSON document after another.)"""
    line = text.strip().split("\n")[-1]
    dec, docs, i = json.JSONDecoder(), [], 0
    try:
        while i < len(line):
            doc, i = dec.raw_decode(line, i)
            docs.append(doc)
            while i < len(line) and line[i].isspace():
                i += 1
    except ValueError:
        return "the final curl printed no JSON: %r" % text[-300:]
    if not docs or not isinstance(docs[-1], dict) or "error" in docs[-1]:
        return "the final curl answered %r" % line[-300:]
    return None


# -- where they run ------------------------------------------------------------

INNER = r"""set -eu
T=%(tmp)s
for d in usr etc var; do
	mkdir -p "$T/ov/$d.up" "$T/ov/$d.work"
	mount -t overlay overlay \
	    -o "lowerdir=/$d,upperdir=$T/ov/$d.up,workdir=$T/ov/$d.work" "/$d"
done
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 1777 /run/lock         # /var/lock; a booted system has it
if [ -n "%(srv)s" ]; then
	mount -t tmpfs -o mode=0755 tmpfs /srv
	mkdir /srv/backfills
	mount --bind "%(clone)s" /srv/backfills
fi
ip link set lo up
cd "%(clone)s"
export PATH="%(standin)s:$PATH" SYSTEMCTL_STATE="$T/systemctl"
rc=0
sh -e -x "$T/steps.sh" || rc=$?
printf '\n--- facts\n'
echo "rc: $rc"
%(facts)s
"""


def run_namespaced(name, code):
    tmp = tempfile.mkdtemp(prefix="bf-readme-%s-" % name)
    os.chmod(tmp, 0o711)
    src = os.path.join(tmp, "src")
    clone(src)
    with open(os.path.join(tmp, "steps.sh"), "w") as f:
        f.write(code)
    facts, want = FACTS[name]
    with open(os.path.join(tmp, "inner.sh"), "w") as f:
        f.write(INNER % {"tmp": tmp, "clone": src, "standin": STANDIN,
                         "srv": "1" if name == "apache" else "",
                         "facts": facts})
    log = os.path.join(tmp, "trace.log")
    with open(log, "wb") as err:
        p = subprocess.run(
            ["unshare", "--mount", "--net", "--pid", "--fork",
             "--kill-child", "--mount-proc", "--propagation", "private",
             "sh", os.path.join(tmp, "inner.sh")],
            cwd=tmp, env=clean_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=err, timeout=TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    with open(os.path.join(tmp, "output.log"), "w") as f:
        f.write(out)
    text, got = split_output(out)
    errs = []
    if p.returncode != 0 or got.get("rc") != "0":
        errs.append("the steps failed (rc %s); trace ends:\n%s" % (
            got.get("rc", p.returncode), tail(log)))
    else:
        e = check_answer(name, text)
        if e:
            errs.append(e)
    for k, v in want.items():
        if got.get(k) != v:
            errs.append("%s is %r, not %r" % (k, got.get(k), v))
    return tmp, errs


def tail(path, n=3000):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")[-n:]


class HostSite(test_apache.Site):
    """A shared host: Apache (mod_cgid) serving ~/public_html with
    AllowOverride All; the account's files made by the README's steps."""

    def __init__(self):
        super().__init__("cgi")

    def lay_out(self, mode):
        os.chmod(self.tmp, 0o711)
        for d in ("logs", "run", "htdocs", "home"):
            os.mkdir(os.path.join(self.tmp, d), 0o755)
        self.logs = os.path.join(self.tmp, "logs")
        self.home = os.path.join(self.tmp, "home")
        self.site = os.path.join(self.home, "public_html")
        os.mkdir(self.site, 0o755)
        if self.root_user:
            pw = pwd.getpwnam(test_apache.APACHE_USER)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid


def chown_tree(top, uid, gid):
    for d, dirs, names in os.walk(top):
        os.lchown(d, uid, gid)
        for n in names:
            os.lchown(os.path.join(d, n), uid, gid)


def run_shared(code):
    site = HostSite()
    src = os.path.join(site.tmp, "src")
    clone(src)
    errs = []
    try:
        site.start()
        url = "http://127.0.0.1:%d" % site.port
        code, n = re.subn(r"^SITE=\S+", "SITE=" + url, code, flags=re.M)
        if n != 1:
            return site, ["the sequence has %d SITE= lines, not 1" % n]
        with open(os.path.join(site.tmp, "steps.sh"), "w") as f:
            f.write(code)
        kw = {}
        if site.root_user:
            chown_tree(site.home, site.uid, site.gid)
            chown_tree(src, site.uid, site.gid)
            kw = {"user": site.uid, "group": site.gid, "extra_groups": []}
        p = subprocess.run(["sh", "-e", "-x",
                            os.path.join(site.tmp, "steps.sh")],
                           cwd=src, env=clean_env(HOME=site.home),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT, **kw)
        out = p.stdout.decode("utf-8", "replace")
        with open(os.path.join(site.tmp, "output.log"), "w") as f:
            f.write(out)
        if p.returncode != 0:
            errs.append("the steps failed (rc %d):\n%s\n%s"
                        % (p.returncode, out[-3000:], site.log_text()[-1500:]))
        else:
            # sh -x traces go to the same stream: drop them.
            e = check_answer("shared-hosting", "\n".join(
                ln for ln in out.split("\n") if not ln.startswith("+")))
            if e:
                errs.append(e)
    finally:
        errs += site.stop()
    return site, errs


# -- main --------------------------------------------------------------------

def namespaces_work():
    if os.geteuid() != 0:
        return "not root"
    for tool in ("unshare", "ip", "systemd-sysusers", "systemd-tmpfiles"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":" +
                            PATH):
            return "no %s" % tool
    p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", "d=$(mktemp -d) && mkdir $d/u $d/w && "
                        "mount -t overlay overlay -o lowerdir=/etc,"
                        "upperdir=$d/u,workdir=$d/w /etc; r=$?; "
                        "rm -rf $d; exit $r"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return None if p.returncode == 0 else "no overlayfs in a mount namespace"


def main():
    try:
        seqs = sequences()
    except RuntimeError as e:
        report("README.md's test markers", str(e))
        print("%d passed, %d failed" % (passed, failed))
        return 1
    wanted = SEQUENCES
    if os.environ.get("README_SEQUENCES"):
        wanted = os.environ["README_SEQUENCES"].replace(",", " ").split()
    for name in SEQUENCES:
        code = seqs.get(name)
        if code is None:
            report("%s: README.md has its steps" % name, "no block marked")
            continue
        cmd = last_command(code)
        report("%s: README.md's steps end with a curl -f" % name,
               None if cmd.startswith("curl -f") else "they end with %r"
               % cmd)
    why_not = namespaces_work()
    for name in wanted:
        if name not in seqs:
            continue
        title = "%s: README.md's steps from a fresh clone" % name
        if name in NAMESPACED and why_not:
            report(title, why_not, skip=True)
            continue
        tmp = None
        try:
            if name in NAMESPACED:
                tmp, errs = run_namespaced(name, seqs[name])
            else:
                site, errs = run_shared(seqs[name])
                tmp = site.tmp
            report(title + " answer 200", "; ".join(errs) if errs else None)
        except Exception as e:
            errs = ["%s: %s" % (type(e).__name__, e)]
            report(title, errs[0])
        if tmp:
            if errs or KEEP:
                print("     (kept %s)" % tmp)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
