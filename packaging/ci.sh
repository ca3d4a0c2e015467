#!/bin/bash
# corral's packaging CI, one script:
#   1. builds the .debs (packaging/build-debs.sh: dpkg-buildpackage -us -uc -b,
#      which also runs the test suite, man page and systemd unit checks);
#   2. lintian on them: no error (warnings are printed);
#   3. exported symbols of the packaged libcorral and plugins (nm -D);
#   4. installs them with apt into a clean Debian 12 root (debootstrap
#      --variant=minbase, cached under $CORRAL_CI_CACHE) and, inside it
#      (bwrap --bind ROOT /: a chroot by pivot_root, see in_root):
#      corral --version, corral plugins (the packaged plugins load from the
#      compiled-in directory), corral config check of the shipped conffile,
#      the gate's credentials, the SDK example built against the installed
#      libcorral-dev only (CMake and pkg-config) and loaded from the
#      compiled-in directory, a rollout of the oracle agent (HOOK below),
#      then purge;
#   5. rpmbuild -bb (packaging/build-rpm.sh);
#   6. reproducibility (packaging/repro.sh).
#
#   packaging/ci.sh                 run as root (chroot, mounts, debootstrap)
#
# Environment: CORRAL_CI_CACHE (default /var/cache/corral-ci), DEBIAN_MIRROR
# (default http://deb.debian.org/debian), CORRAL_CI_KEEP=1 keeps the work dir.
# Needs the Debian packages: debhelper dpkg-dev fakeroot lintian rpm
# debootstrap bubblewrap systemd man-db plus the build dependencies of
# debian/control.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CORRAL_CI_CACHE:-/var/cache/corral-ci}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
WORK=$(mktemp -d /tmp/corral-pkgci-XXXXXX)
ROOT="$WORK/root"
MOUNTS=()

cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
  if [ "${CORRAL_CI_KEEP:-0}" = 1 ]; then echo "ci: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

T0=$(date +%s)
TIMES=()
step_start() { STEP=$1; STEP_T=$(date +%s); echo; echo "=== $STEP"; }
step_end() { TIMES+=("$(printf '%-28s %4ss' "$STEP" $(($(date +%s) - STEP_T)))"); }

[ "$(id -u)" = 0 ] || { echo "ci.sh: run as root (chroot, mount, debootstrap)" >&2; exit 2; }
for t in dpkg-buildpackage lintian rpmbuild debootstrap bwrap nm; do
  command -v "$t" >/dev/null || { echo "ci.sh: $t is missing (see the header for the packages)" >&2; exit 2; }
done

# ---- 1. Debian packages ---------------------------------------------------
step_start "build .debs"
v_cmake=$(sed -nE 's/^project\(corral VERSION ([0-9.]+).*/\1/p' "$SRC/CMakeLists.txt")
v_deb=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version | sed 's/-[^-]*$//')
v_rpm=$(sed -n 's/^Version: *//p' "$SRC/packaging/rpm/corral.spec")
if [ "$v_cmake" = "$v_deb" ] && [ "$v_cmake" = "$v_rpm" ]; then echo "ok - version $v_cmake in CMakeLists.txt, debian/changelog, corral.spec"
else echo "not ok - versions differ: CMake $v_cmake, debian $v_deb, rpm $v_rpm"; exit 1; fi
bash "$SRC/packaging/build-debs.sh" "$WORK/debs" >"$WORK/build-debs.log" 2>&1 || {
  grep -E '(^|: )(not ok|\[  (ERROR|FAILED) )' "$WORK/build-debs.log" | head -40
  tail -60 "$WORK/build-debs.log"; echo "not ok - dpkg-buildpackage failed"; exit 1; }
grep -E '^build-debs:|tests passed' "$WORK/build-debs.log" || true
ls -1 "$WORK/debs"/*.deb
step_end

# ---- 2. lintian -----------------------------------------------------------
step_start "lintian"
rc=0
lintian --fail-on error --info "$WORK/debs"/*.changes >"$WORK/lintian.log" 2>&1 || rc=$?
grep -v '^running with root privileges' "$WORK/lintian.log" || true
[ $rc -eq 0 ] || { echo "not ok - lintian reported errors (exit $rc)"; exit 1; }
echo "ok - lintian: no errors"
step_end

# ---- 3. exported symbols --------------------------------------------------
step_start "symbols (nm -D)"
mkdir -p "$WORK/x"
for d in "$WORK/debs"/*.deb; do
  case "$d" in *-dbgsym_*) continue ;; esac
  dpkg-deb -x "$d" "$WORK/x"
done
lib=$(find "$WORK/x" -name 'libcorral.so.0.*' -type f | head -1)
bash "$SRC/packaging/check-symbols.sh" "$lib" "$(dirname "$(find "$WORK/x" -path '*/corral/plugins' -type d | head -1)")/plugins"
step_end

# ---- 4. install into a clean Debian root ----------------------------------
step_start "clean root (debootstrap)"
BASE="$CACHE/$SUITE-minbase"
TOOLS_PKGS="gcc libc6-dev make cmake pkgconf binutils ca-certificates
            bubblewrap libcurl4 libcjson1 libarchive13 libmicrohttpd12 libssl3 libcmocka0"
TOOLS="$CACHE/$SUITE-tools-$(echo $TOOLS_PKGS | md5sum | cut -c1-8)"
mkdir -p "$CACHE"
if [ ! -d "$BASE" ]; then
  rm -rf "$BASE.tmp"
  debootstrap --variant=minbase "$SUITE" "$BASE.tmp" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log"; exit 1; }
  mv "$BASE.tmp" "$BASE"
fi
mount_in() { # mount_in ROOTDIR: proc, dev, resolv.conf for a chroot
  mount -t proc proc "$1/proc"; MOUNTS+=("$1/proc")
  mount --bind /dev "$1/dev"; MOUNTS+=("$1/dev")
  cp -L /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
  printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"
}
umount_all() { local i; for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}"; done; MOUNTS=(); }
if [ ! -d "$TOOLS" ]; then
  # The base plus Debian's compiler, cmake and our runtime libraries, so that
  # repeated runs download nothing; no corral file is ever in it.
  rm -rf "$TOOLS.tmp"; cp -a "$BASE" "$TOOLS.tmp"
  mount_in "$TOOLS.tmp"
  chroot "$TOOLS.tmp" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(echo $TOOLS_PKGS) >/dev/null && apt-get clean"
  umount_all
  mv "$TOOLS.tmp" "$TOOLS"
fi
# A fresh root for this run: an overlay over the cached layer when the kernel
# allows it, else a copy.
mkdir -p "$ROOT" "$WORK/upper" "$WORK/ovl-work"
if mount -t overlay overlay -o "lowerdir=$TOOLS,upperdir=$WORK/upper,workdir=$WORK/ovl-work" "$ROOT" 2>/dev/null; then
  MOUNTS+=("$ROOT"); echo "root: overlay over $TOOLS"
else
  cp -a "$TOOLS/." "$ROOT/"; echo "root: copy of $TOOLS"
fi
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod 755 "$ROOT/usr/sbin/policy-rc.d"
step_end
# Commands run in the root through bwrap, i.e. pivot_root(2) rather than
# chroot(2): the kernel refuses to create user namespaces inside a chroot,
# and the local sandbox of the rollout below needs them.
in_root() {
  bwrap --bind "$ROOT" / --dev-bind /dev /dev --bind /proc /proc --die-with-parent \
        --setenv PATH /usr/sbin:/usr/bin:/sbin:/bin --chdir / -- "$@"
}

step_start "install + checks in the root"
mkdir -p "$ROOT/tmp/debs" "$ROOT/tmp/ci"
for d in "$WORK/debs"/*.deb; do case "$d" in *-dbgsym_*) ;; *) cp "$d" "$ROOT/tmp/debs/" ;; esac; done
UPSTREAM=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version | sed 's/-[^-]*$//')
cat >"$ROOT/tmp/ci/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs inside the clean root.  $1: the upstream version.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root
unset CORRAL_PLUGIN_PATH CORRAL_CONFIG_DIR XDG_CONFIG_HOME
fails=0
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }

apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb >/tmp/ci/apt.log 2>&1 ||
  { tail -30 /tmp/ci/apt.log; no "apt-get install of the packages"; exit 1; }
ok "apt-get install $(cd /tmp/debs && ls | sed 's/_.*//' | tr '\n' ' ')"

out=$(corral --version); check "corral --version says $1" grep -q "^corral $1 " <<<"$out"
PLUGDIR=$(ls -d /usr/lib/*/corral/plugins)
out=$(corral plugins 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "corral plugins exits 0" test $rc -eq 0
for f in "$PLUGDIR"/*.so; do
  [ -e "$f" ] || continue
  check "$(basename "$f") loads from the compiled-in $PLUGDIR" grep -qE " loaded +$f\$" <<<"$out"
done
check "no plugin refused" eval '! grep -q refused <<<"$out"'
out=$(corral config check 2>&1); rc=$?
check "corral config check accepts the shipped /etc/corral/corral.json" test $rc -eq 0
check "/etc/corral/corral.json is a conffile" grep -qx /etc/corral/corral.json /var/lib/dpkg/info/corral.conffiles
check "/etc/corral/conf.d exists" test -d /etc/corral/conf.d
check "the gate's credentials exist, root-only, >= 16 bytes" eval \
  '[ "$(stat -c %a /etc/corral/gate/secret)" = 600 ] && [ $(wc -c </etc/corral/gate/secret) -ge 16 ] && [ "$(stat -c %a /etc/corral/gate/trainer-token)" = 600 ]'
check "man pages installed" test -e /usr/share/man/man1/corral.1.gz -a -e /usr/share/man/man5/corral.conf.5.gz -a -e /usr/share/man/man7/corral-plugin.7.gz
check "units installed" test -e /lib/systemd/system/corral-gate.service -a -e /lib/systemd/system/corral-gc.timer

# The SDK example, against the installed libcorral-dev only.
cp -r /usr/share/doc/libcorral-dev/examples/hostproc /tmp/hp
cmake -S /tmp/hp -B /tmp/hp/b >/tmp/ci/hp.log 2>&1 && cmake --build /tmp/hp/b >>/tmp/ci/hp.log 2>&1
check "hostproc builds with find_package(Corral) + corral_add_plugin()" test -f /tmp/hp/b/sandbox_hostproc.so || tail -20 /tmp/ci/hp.log
make -C /tmp/hp -f Makefile.pkgconfig >>/tmp/ci/hp.log 2>&1
check "hostproc builds with pkg-config corral-plugin alone" test -f /tmp/hp/sandbox_hostproc.so
check "hostproc exports only corral_plugin_entry" eval \
  '[ "$(nm -D --defined-only /tmp/hp/b/sandbox_hostproc.so | awk "\$2 ~ /[TDBR]/ {print \$3}")" = corral_plugin_entry ]'
cmake --install /tmp/hp/b >>/tmp/ci/hp.log 2>&1
check "cmake --install puts it into the compiled-in directory" test -f "$PLUGDIR/sandbox_hostproc.so"
out=$(corral plugins 2>&1)
check "the installed corral loads it from there" grep -qE "^sandbox +hostproc +1\.0\.0 +1\.1 +loaded +$PLUGDIR/sandbox_hostproc.so" <<<"$out"
rm -f "$PLUGDIR/sandbox_hostproc.so"

# An embedder (a trainer or harness) of libcorral, against the installed
# libcorral-dev only: every public header, pkg-config corral.
cat >/tmp/embed.c <<'EOF'
#include <stdlib.h>
#include <string.h>
#include <corral/atif.h>
#include <corral/corral.h>
#include <corral/gate.h>
#include <corral/report.h>
#include <corral/rollout.h>
#include <corral/sandbox_host.h>
#include <corral/view.h>
int main(void)
{
    corral_report *r = corral_report_new();
    struct corral_view_options o = {.struct_size = sizeof o};
    char *html = 0;
    if (corral_view_html(r, &o, &html, 0, 0) != 0 || !html)
        return 1;
    free(html);
    corral_report_free(r);
    corral_rollout_result_free(NULL);
    const char *res = "{\"rollout_id\":\"r\"}";
    char *traj = 0;
    if (corral_atif_from_result(res, strlen(res), &traj, 0) != 0 || !strstr(traj, CORRAL_ATIF_SCHEMA_VERSION))
        return 1;
    free(traj);
    return 0;
}
EOF
gcc -std=c11 -Wall -Wextra -Werror /tmp/embed.c $(pkg-config --cflags --libs corral) -o /tmp/embed >/tmp/ci/embed.log 2>&1
check "an embedder builds against every public header with pkg-config corral alone" test -x /tmp/embed || tail -20 /tmp/ci/embed.log
check "the embedder runs against the installed libcorral" /tmp/embed

# ---- HOOK(rollout): a rollout with the oracle agent on the installed corral.
# Runs when `corral run` exists and the packages ship the local sandbox and
# the oracle agent; otherwise it says why it was skipped.
help=$(corral --help)
if ! grep -qE '^  run ' <<<"$help"; then
  echo "# SKIP rollout: this corral has no 'run' command yet"
elif [ ! -e "$PLUGDIR/agent_oracle.so" ] || [ ! -e "$PLUGDIR/sandbox_local.so" ]; then
  echo "# SKIP rollout: agent_oracle or sandbox_local is not packaged in this build"
else
  out=$(corral run --task /tmp/ci/tasks/hello --agent oracle --sandbox local -q 2>/tmp/ci/run.err); rc=$?
  check "corral run: the oracle agent solves the hello task in the local sandbox (exit 0)" test $rc -eq 0
  check "corral run: reward 1 in the RolloutResult" grep -qE '"reward":[[:space:]]*1([^0-9.]|$)' <<<"$out"
  [ $rc -eq 0 ] || { echo "$out" | grep -A3 '"error"'; tail -5 /tmp/ci/run.err; }
fi
# ---- end HOOK(rollout)

apt-get purge -y -qq corral-conformance libcorral-dev corral corral-plugin-docker corral-plugin-e2b \
  corral-plugin-hf corral-plugin-islo >/tmp/ci/purge.log 2>&1 ||
  apt-get purge -y -qq corral libcorral-dev corral-conformance >>/tmp/ci/purge.log 2>&1
check "purge removes /etc/corral (conffile, conf.d, gate credentials)" test ! -e /etc/corral
check "purge leaves no plugin directory behind" eval '! ls -d /usr/lib/*/corral/plugins/*.so >/dev/null 2>&1'
echo "$fails failed"
exit $((fails > 0))
INSIDE
mkdir -p "$ROOT/tmp/ci/tasks"
cp -r "$SRC/examples/tasks/hello" "$ROOT/tmp/ci/tasks/" 2>/dev/null || true
in_root bash /tmp/ci/inside.sh "$UPSTREAM" || { echo "not ok - checks in the clean root"; exit 1; }
step_end

# ---- 5. RPM ----------------------------------------------------------------
step_start "rpmbuild -bb"
# The test suite already ran in the Debian build; here the spec's packaging.
RPMBUILD_ARGS="--without check ${RPMBUILD_ARGS:-}" bash "$SRC/packaging/build-rpm.sh" "$WORK/rpms" \
  >"$WORK/build-rpm.log" 2>&1 || { tail -60 "$WORK/build-rpm.log"; echo "not ok - rpmbuild -bb"; exit 1; }
for r in "$WORK/rpms"/*.rpm; do echo "  $(basename "$r"): $(rpm -qpl "$r" 2>/dev/null | wc -l) files"; done
# (Listings are captured first: grep -q would close the pipe under pipefail.)
libs=$(rpm -qpl "$WORK"/rpms/corral-libs-*.rpm 2>/dev/null)
conf=$(rpm -qpc "$WORK"/rpms/corral-[0-9]*.rpm 2>/dev/null)
if grep -q 'libcorral\.so\.0$' <<<"$libs"; then echo "ok - corral-libs ships libcorral.so.0"
else echo "not ok - corral-libs lacks libcorral.so.0"; exit 1; fi
if grep -qx /etc/corral/corral.json <<<"$conf"; then echo "ok - /etc/corral/corral.json is %config"
else echo "not ok - corral.json is not %config"; exit 1; fi
step_end

# ---- 6. reproducible builds --------------------------------------------------
step_start "reproducibility"
bash "$SRC/packaging/repro.sh"
step_end

echo
echo "=== packaging CI passed in $(($(date +%s) - T0))s"
printf '  %s\n' "${TIMES[@]}"
