"""A fake cloud sandbox's file system, shared by the fakes in this directory.

Each fake sandbox owns a host directory standing for its "/".  Commands run
under bubblewrap with that directory as "/", the host's /usr and /etc bound
read-only (the merged-/usr links /bin, /lib, ... recreated) with the
sandbox's own /etc/hostname over the host's, a minimal /dev and the /proc
of the sandbox's own pid namespace (one per sandbox, shared by its
commands, as in a VM: no host process is visible, nor the host's files
through /proc/<pid>/root), so absolute paths in commands and in the
fakes' file APIs name the same files (host_path() follows symlinks as the
sandbox would, with its root as "/"), and nothing a sandbox writes reaches the host's own
directories (/workspace, /logs, /tests, /x ...).  /bin/sh is the host's:
dash on Debian and Ubuntu, as in the services' images.  The process keeps
the host's network: sandboxes reach services on the host's loopback, as
cloud sandboxes reach public URLs.

Without a usable bwrap, or with the fake's *_NO_BWRAP variable set,
commands run on the host with only the working directory mapped, and
usable_bwrap() says so on stderr.
"""
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

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
            kill_marked(d)
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


def _mounts(bwrap, root):
    """bwrap's arguments that make `root` the "/" of what it runs."""
    cmd = [bwrap, "--bind", root, "/", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
           "--bind", os.path.join(root, "etc", "hostname"), "/etc/hostname",
           "--proc", "/proc", "--dev", "/dev", "--die-with-parent"]
    for d in SYSTEM_DIRS:
        if not os.path.islink("/" + d) and os.path.isdir("/" + d):
            cmd += ["--ro-bind", "/" + d, "/" + d]
    return cmd


PIDNS = {}  # sandbox root -> its pid namespace (/proc/<pid>/ns/pid of the holder's init)
PIDNS_LOCK = threading.Lock()
HOLDER_THREAD = concurrent.futures.ThreadPoolExecutor(1)


def _set_up(pid):
    """Whether the namespace's init `pid` has entered the sandbox's root:
    until bwrap has pivoted, /proc/<pid>/root is the host's "/" (a command
    joining then saw host files through /proc/1/root under CI's load)."""
    try:
        inside, host = os.stat("/proc/%s/root" % pid), os.stat("/")
    except OSError:
        return False
    return (inside.st_dev, inside.st_ino) != (host.st_dev, host.st_ino)


def _pid_namespace(bwrap, root):
    """The path of the pid namespace every command of the sandbox at `root`
    runs in, started on first use (and again after kill_marked() ended
    it): a holder `sleep` under bwrap --unshare-pid, tagged with the
    sandbox (mark_env) so that kill_marked() ends it, and with it every
    process in the namespace.  One namespace per sandbox, as in a VM: pids
    mean the same in every command of the sandbox, and /proc shows no host
    process.  None if it could not start."""
    with PIDNS_LOCK:
        ns = PIDNS.get(root)
        if ns and os.path.exists(ns):
            return ns
        # Started from one thread that lives as long as the fake: bwrap's
        # --die-with-parent fires when the *thread* that started it ends
        # (a request's thread would end the namespace with the request).
        holder = HOLDER_THREAD.submit(
            subprocess.Popen, _mounts(bwrap, root) + ["--unshare-pid", "--", "sleep", "infinity"],
            env=mark_env({"PATH": "/usr/bin:/bin"}, root), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True).result()
        for _ in range(200):  # bwrap's monitor forks the namespace's init
            try:
                with open("/proc/%d/task/%d/children" % (holder.pid, holder.pid)) as f:
                    kids = f.read().split()
            except OSError:
                kids = []
            if kids and _set_up(kids[0]):
                PIDNS[root] = ns = "/proc/%s/ns/pid" % kids[0]
                threading.Thread(target=holder.wait, daemon=True).start()  # reaped when it ends
                return ns
            if holder.poll() is not None:
                break
            time.sleep(0.01)
        holder.kill()
        holder.wait()
        return None


def bwrap_argv(bwrap, root, cwd, argv):
    """The argv that runs `argv` in `cwd` with `root` as "/", in the
    sandbox's pid namespace (_pid_namespace(); the host's shell opens it
    for bwrap's --pidns and execs bwrap, so the pid is bwrap's)."""
    cmd = _mounts(bwrap, root) + ["--chdir", cwd]
    # Opt-in (CORRAL_FAKE_PIDNS=1): under CI's parallel load a sandbox's
    # commands were seen SIGKILLed (exit 137) in the shared namespace, cause
    # not yet found; the fakes' contract and fault runs keep the host's pids.
    ns = _pid_namespace(bwrap, root) if os.environ.get("CORRAL_FAKE_PIDNS") == "1" else None
    if ns:
        return ["/bin/sh", "-c", 'exec "$@" 9<"$0"', ns] + cmd + ["--pidns", "9", "--"] + argv
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
    with PIDNS_LOCK:
        PIDNS.pop(root, None)  # the holder is tagged too: its namespace ends
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
