"""
Helpers for the PostgreSQL tests (Python 3 standard library + psql):
a throwaway server (tests/pg/pg_server.sh), databases in it, and a
schema-agnostic dump of one, as tests/e2e/harness.py's Server.dump()
gives for a SQLite file.

The server is the one named by $PG_DIR (its socket folder) when set, as
`make pg-check` does; otherwise PgServer starts one of its own.
"""

import contextlib
import os
import subprocess
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PG_SERVER = os.path.join(HERE, "pg_server.sh")


def uri(pg_dir, dbname):
    """The libpq URI of database dbname on the server in pg_dir."""
    return "postgresql:///%s?host=%s&user=postgres" % (dbname, pg_dir)


class PgServer:
    """A throwaway server: start() it (or reuse $PG_DIR), stop() it."""

    def __init__(self):
        self.dir = os.environ.get("PG_DIR") or None
        self.own = False

    def start(self):
        if self.dir:
            return self
        # short: the socket path must stay under 107 bytes
        parent = tempfile.mkdtemp(prefix="bfpg-", dir="/tmp")
        os.chmod(parent, 0o755)
        self.dir = os.path.join(parent, "pg")
        subprocess.run([PG_SERVER, "start", self.dir], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        self.own = True
        return self

    def stop(self):
        if self.own and self.dir:
            subprocess.run([PG_SERVER, "stop", self.dir], timeout=120)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.dir))
            self.own = False

    def uri(self, dbname):
        return uri(self.dir, dbname)

    def psql(self, sql, dbname="postgres", check=True, timeout=60):
        """Runs sql with psql; returns its stdout (unaligned, tuples
        only, fields separated by a tab)."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-d",
                            self.uri(dbname), "-c", sql],
                           capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError("psql %r: %s" % (sql[:200],
                                 p.stderr.decode(errors="replace")))
        return p.stdout.decode()

    def createdb(self, prefix="bf"):
        """A new empty database; returns its name."""
        name = "%s_%s" % (prefix, uuid.uuid4().hex[:12])
        self.psql('CREATE DATABASE "%s" TEMPLATE template0 ENCODING '
                  "'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" % name)
        return name

    def dropdb(self, name):
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name,
                  check=False)

    def dump(self, dbname):
        """Every row of every table of the backfills schema, as text
        lines "table\trow", sorted: equal before and after when nothing
        changed (sequences are left out: PostgreSQL never gives back a
        number a rolled-back insert took, which changes no row). One
        psql: the table list writes the queries (\\gexec)."""
        script = ("SELECT format('SELECT %L, t::text FROM %I t', "
                  "tablename, tablename) FROM pg_tables WHERE "
                  "schemaname = current_schema() ORDER BY 1 \\gexec\n")
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-d",
                            self.uri(dbname), "-f", "-"],
                           input=script.encode(), capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql dump: %s" %
                                 p.stderr.decode(errors="replace"))
        return sorted(p.stdout.decode().splitlines())

    def data_bytes(self, dbname):
        """The bytes of the database's files and of the write-ahead log
        (after a checkpoint): what a thief of the disk would read."""
        self.psql("CHECKPOINT")
        oid = self.psql("SELECT oid FROM pg_database WHERE datname = '%s'"
                        % dbname).strip()
        data = b""
        folders = [os.path.join(self.dir, "data", "base", oid),
                   os.path.join(self.dir, "data", "pg_wal")]
        for folder in folders:
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        data += f.read()
        return data
