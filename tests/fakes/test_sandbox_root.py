#!/usr/bin/env python3
"""The fakes' sandbox root (sandbox_root.py) confines commands and file APIs:
absolute paths in a command name the sandbox's files, never the host's.
Skipped (77) where bwrap cannot run; ctest fake_sandbox_root."""
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sandbox_root  # noqa: E402

BWRAP = sandbox_root.usable_bwrap("FAKE_TEST_NO_BWRAP")


class Confinement(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="fake-root-test-")
        sandbox_root.make_root(self.root, ("workspace",))
        self.addCleanup(shutil.rmtree, self.root, True)
        self.addCleanup(sandbox_root.kill_marked, self.root)

    def sh(self, script):
        """Runs `script` with dash semantics in the sandbox; (exit, stdout)."""
        argv = sandbox_root.bwrap_argv(BWRAP, self.root, "/workspace", ["/bin/sh", "-c", script])
        env = sandbox_root.mark_env({"PATH": "/usr/bin:/bin"}, self.root)
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return r.returncode, r.stdout.decode()

    def test_host_paths_name_the_sandbox(self):
        # /etc/hostname is the sandbox's own, not the host's.
        code, out = self.sh("cat /etc/hostname")
        self.assertEqual((code, out.strip()), (0, "sandbox-" + os.path.basename(self.root)))
        # A file of the host (outside /usr and /etc) does not exist inside.
        with tempfile.NamedTemporaryFile(prefix="host-only-") as f:
            code, out = self.sh("cat %s" % f.name)
            self.assertNotEqual(code, 0, out)
        # The host's own directories are the sandbox's (empty) ones.
        here = os.path.dirname(os.path.abspath(__file__))
        self.assertEqual(self.sh("ls -A /root /home /var 2>/dev/null; test -e %s || echo none" % here),
                         (0, "none\n"))

    def test_one_pid_namespace_per_sandbox(self):
        os.environ["CORRAL_FAKE_PIDNS"] = "1"  # opt-in (sandbox_root.bwrap_argv)
        self.addCleanup(os.environ.pop, "CORRAL_FAKE_PIDNS", None)
        # No host process is visible (nor its root through /proc/<pid>/root),
        # and a pid means the same process in every command of the sandbox.
        with tempfile.NamedTemporaryFile(prefix="host-only-") as f:
            code, out = self.sh("test -e /proc/1/root%s && echo host; ls /proc | grep -c '^[0-9]'" % f.name)
        self.assertEqual(code, 0, out)
        self.assertLess(int(out), 10, "the host's processes are visible")
        code, pid = self.sh("setsid sleep 30 >/dev/null 2>&1 & echo $!")
        self.assertEqual(code, 0, pid)
        self.assertEqual(self.sh("kill -0 %s && kill -KILL %s" % (pid.strip(), pid.strip()))[0], 0)
        # kill_marked() ends the namespace; the next command gets a new one.
        self.sh("setsid sleep 30 >/dev/null 2>&1 &")
        sandbox_root.kill_marked(self.root)
        self.assertEqual(self.sh("ps -e -o args= | grep -c '[s]leep 30' || true")[1].strip(), "0")

    def test_writes_land_in_the_root(self):
        name = "/corral-fake-%s" % secrets.token_hex(6)
        self.assertFalse(os.path.exists(name))
        code, out = self.sh("echo inside > %s && mkdir -p /logs/verifier && echo 1 > /logs/verifier/r" % name)
        self.assertEqual(code, 0, out)
        self.assertFalse(os.path.exists(name), "a sandbox write reached the host")
        with open(self.root + name) as f:
            self.assertEqual(f.read(), "inside\n")
        self.assertTrue(os.path.exists(self.root + "/logs/verifier/r"))
        # The host's /etc and /usr are read-only inside.
        code, _ = self.sh("echo x > /etc/corral-fake-probe || echo x > /usr/corral-fake-probe")
        self.assertNotEqual(code, 0)

    def test_shell_is_dash_like_the_services(self):
        if os.path.basename(os.path.realpath("/bin/sh")) != "dash":
            self.skipTest("the host's /bin/sh is not dash")
        self.assertEqual(self.sh("readlink -f /bin/sh"), (0, "/usr/bin/dash\n"))
        # dash's kill rejects `--` (issue 22 item 1): the fakes must show it.
        self.assertNotEqual(self.sh("sleep 5 & p=$!; kill -KILL -- -$p; rc=$?; kill $p; exit $rc")[0], 0)

    def test_file_api_paths_follow_links_inside(self):
        # A command's absolute symlink names the sandbox's file, for the
        # fakes' file APIs too (host_path), as for the commands.
        self.assertEqual(self.sh("ln -s /etc/hostname /workspace/ln && ln -s ../../../../.. /workspace/up")[0], 0)
        hp = sandbox_root.host_path(self.root, "/workspace/ln")
        self.assertEqual(hp, os.path.join(self.root, "etc", "hostname"))
        self.assertEqual(sandbox_root.host_path(self.root, "/workspace/up/etc/passwd"),
                         os.path.join(self.root, "etc", "passwd"))
        self.assertEqual(sandbox_root.host_path(self.root, "/../../etc"), os.path.join(self.root, "etc"))
        self.assertEqual(sandbox_root.host_path(self.root, "/workspace/ln", follow_last=False),
                         os.path.join(self.root, "workspace", "ln"))
        self.assertIsNone(sandbox_root.host_path(self.root, "relative"))
        os.symlink("/loop", os.path.join(self.root, "loop"))
        self.assertIsNone(sandbox_root.host_path(self.root, "/loop"))


if __name__ == "__main__":
    if not BWRAP:
        print("skipped: bwrap cannot run here")
        sys.exit(77)
    unittest.main()
