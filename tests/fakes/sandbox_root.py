"""A fake cloud sandbox's file system, shared by the fakes in this directory.

Each fake sandbox owns a host directory standing for its "/".  Commands run
under bubblewrap with that directory as "/", the host's /usr and /etc bound
read-only (the merged-/usr links /bin, /lib, ... recreated), a fresh /proc
and a minimal /dev, so absolute paths in commands and in the fakes' file
APIs name the same files, and nothing a sandbox writes reaches the host's
own directories (/workspace, /logs, /tests ...).  The process keeps the
host's network: sandboxes reach services on the host's loopback, as cloud
sandboxes reach public URLs.
"""
import os
import shutil
import signal

SYSTEM_DIRS = ("bin", "lib", "lib64", "sbin")


def find_bwrap(disable_env):
    """The bwrap binary, or None when missing or disabled by $disable_env."""
    return None if os.environ.get(disable_env) else shutil.which("bwrap")


def make_root(root, dirs):
    """Lay out a sandbox root: the mount points, a world-writable /tmp, the
    merged-/usr links, and the image's own directories `dirs`."""
    for d in ("usr", "etc", "proc", "dev", "tmp") + tuple(dirs):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for d in SYSTEM_DIRS:
        hp = "/" + d
        link = os.path.join(root, d)
        if os.path.islink(hp):
            if not os.path.lexists(link):
                os.symlink(os.readlink(hp), link)
        elif os.path.isdir(hp):
            os.makedirs(link, exist_ok=True)


def bwrap_argv(bwrap, root, cwd, argv):
    """The argv that runs `argv` in `cwd` with `root` as "/"."""
    cmd = [bwrap, "--bind", root, "/", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
           "--proc", "/proc", "--dev", "/dev", "--chdir", cwd, "--die-with-parent"]
    for d in SYSTEM_DIRS:
        if not os.path.islink("/" + d) and os.path.isdir("/" + d):
            cmd += ["--ro-bind", "/" + d, "/" + d]
    return cmd + ["--"] + argv


MARK = "CORRAL_FAKE_SANDBOX"


def mark_env(env, root):
    """Tag the environment of a command run in the sandbox at `root`: every
    descendant inherits it, setsid'ed background jobs included, so
    kill_marked() finds them all (a process group or session would not)."""
    env[MARK] = root
    return env


def kill_marked(root):
    """SIGKILL every process tagged by mark_env(root): the sandbox's commands
    and whatever they left running (tests leave no process behind).  Only
    processes carrying this sandbox's unique root are touched."""
    tag = ("%s=%s" % (MARK, root)).encode()
    for _ in range(3):  # a process may fork while we scan
        found = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if tag in env:
                found = True
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
