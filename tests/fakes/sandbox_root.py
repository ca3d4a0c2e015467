"""A fake cloud sandbox's file system, shared by the fakes in this directory.

Each fake sandbox owns a host directory standing for its "/".  Commands run
under bubblewrap with that directory as "/", the host's /usr and /etc bound
read-only (the merged-/usr links /bin, /lib, ... recreated) with the
sandbox's own /etc/hostname over the host's, a fresh /proc and a minimal
/dev, so absolute paths in commands and in the fakes' file APIs name the
same files (host_path() follows symlinks as the sandbox would, with its
root as "/"), and nothing a sandbox writes reaches the host's own
directories (/workspace, /logs, /tests, /x ...).  /bin/sh is the host's:
dash on Debian and Ubuntu, as in the services' images.  The process keeps
the host's network: sandboxes reach services on the host's loopback, as
cloud sandboxes reach public URLs.

Not confined: the host's process table (no pid namespace: the fakes' job
emulation needs one pid space per sandbox across commands, which separate
bwrap runs cannot share), so /proc/<host pid>/root still names the host's
files; tests must not count on that.  Without a usable bwrap, or with the
fake's *_NO_BWRAP variable set, commands run on the host with only the
working directory mapped, and usable_bwrap() says so on stderr.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

SYSTEM_DIRS = ("bin", "lib", "lib64", "sbin")


def find_bwrap(disable_env):
    """The bwrap binary, or None when missing or disabled by $disable_env."""
    return None if os.environ.get(disable_env) else shutil.which("bwrap")


def usable_bwrap(disable_env, dirs=()):
    """The bwrap binary if it can run a confined command here (tried once in
    a scratch root laid out with `dirs`), else None, said on stderr: the
    fake's commands then run unconfined."""
    bwrap = find_bwrap(disable_env)
    if bwrap:
        d = tempfile.mkdtemp(prefix="fake-root-probe-")
        try:
            make_root(d, dirs)
            r = subprocess.run(bwrap_argv(bwrap, d, "/", ["/bin/sh", "-c", "echo ok > /probe"]),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
            if r.returncode != 0 or not os.path.exists(os.path.join(d, "probe")):
                bwrap = None
        except (OSError, subprocess.SubprocessError):
            bwrap = None
        finally:
            shutil.rmtree(d, ignore_errors=True)
    if not bwrap:
        sys.stderr.write("fake sandbox: bwrap unusable or disabled ($%s): commands run UNCONFINED on the host\n"
                         % disable_env)
    return bwrap


def make_root(root, dirs):
    """Lay out a sandbox root: the mount points, a world-writable /tmp, the
    merged-/usr links, and the image's own directories `dirs`."""
    for d in ("usr", "etc", "proc", "dev", "tmp") + tuple(dirs):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    with open(os.path.join(root, "etc", "hostname"), "w") as f:  # bound over the host's
        f.write("sandbox-%s\n" % os.path.basename(root.rstrip("/")))
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
           "--bind", os.path.join(root, "etc", "hostname"), "/etc/hostname",
           "--proc", "/proc", "--dev", "/dev", "--chdir", cwd, "--die-with-parent"]
    for d in SYSTEM_DIRS:
        if not os.path.islink("/" + d) and os.path.isdir("/" + d):
            cmd += ["--ro-bind", "/" + d, "/" + d]
    return cmd + ["--"] + argv


def host_path(root, path, follow_last=True):
    """The host path that the absolute sandbox path `path` names, resolved
    as inside the sandbox: ".." stops at the root and symlinks, absolute
    ones too, are followed with `root` as "/" (the last component only when
    `follow_last`), so no link a command made leads a file API to the
    host's files.  None when `path` is not absolute or loops."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    todo = [p for p in path.split("/") if p and p != "."]
    done, hops = [], 0
    while todo:
        p = todo.pop(0)
        if p == "..":
            done = done[:-1]
            continue
        cand = os.path.join(root, *done, p)
        if os.path.islink(cand) and (todo or follow_last):
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(cand)
            if target.startswith("/"):
                done = []
            todo = [x for x in target.split("/") if x and x != "."] + todo
            continue
        done.append(p)
    return os.path.join(root, *done)


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
