"""Data files are private: the database, its -wal and -shm and a backup
hold `variables` (secrets, often) and are created 0600 whatever the
caller's umask (here 022, the usual one), or 0640 with `file_mode =
0640`. The worker and backfillctl set the umask themselves."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import CTL_BIN, DEMO_PIPELINE, ServerTestCase


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Umask022:
    """Runs the class's server and commands under umask 022."""

    @classmethod
    def setUpClass(cls):
        cls.old_umask = os.umask(0o022)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            os.umask(cls.old_umask)


class TestModes(Umask022, ServerTestCase):

    def test_database_and_its_wal_and_shm_are_0600(self):
        # serve.sh created the database (backfillctl init --demo); the
        # workers, holding it open, have its -wal and -shm.
        if not os.path.isabs(self.server.db):
            self.skipTest("a PostgreSQL database has no files here")
        self.create(name="private")
        for suffix in ("", "-wal", "-shm"):
            with self.subTest(file="backfills.db" + suffix):
                self.assertEqual(oct(mode(self.server.db + suffix)),
                                 oct(0o600))

    def test_backup_is_0600(self):
        dest = os.path.join(self.server.tmp, "backup.db")
        self.server.ctl("backup", dest, check=True)
        self.assertEqual(oct(mode(dest)), oct(0o600))


class TestGroupReadable(Umask022, unittest.TestCase):
    """file_mode = 0640: the same files, readable by the group."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="bf-modes-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def ctl(self, conf, *args):
        p = subprocess.run([CTL_BIN, "--conf", conf] + list(args),
                           capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_file_mode_0640(self):
        db = os.path.join(self.tmp, "backfills.db")
        conf = os.path.join(self.tmp, "backfills.conf")
        with open(conf, "w") as f:
            f.write("database = %s\nfile_mode = 0640\n" % db)
        self.ctl(conf, "init", "--demo")
        self.ctl(conf, "pipeline", "add", DEMO_PIPELINE + "_2")
        self.ctl(conf, "backup", os.path.join(self.tmp, "backup.db"))
        self.assertEqual(oct(mode(db)), oct(0o640))
        self.assertEqual(oct(mode(os.path.join(self.tmp, "backup.db"))),
                         oct(0o640))
