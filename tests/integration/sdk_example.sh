# The SDK as a third party gets it: install corral to a temporary prefix,
# build sdk/examples/hostproc against the installed files only (CMake
# package and pkg-config), and load it with the installed corral.
. "$(dirname "$0")/lib.sh"
# Staged (DESTDIR) so that a destination that ignores the prefix lands in
# the stage where we can see it, instead of on this machine.
STAGE="$WORK/stage"
run env DESTDIR="$STAGE" cmake --install "$BUILD_DIR" --prefix /opt/corral-sdk-test
check "cmake --install to a staged prefix" eval '[ $RC -eq 0 ]'
# Libraries and plugins must follow --prefix; configuration and systemd
# units may be placed absolutely by distro builds (/etc, /lib/systemd).
run find "$STAGE" -type f -name '*.so*' -not -path "$STAGE/opt/corral-sdk-test/*"
check "libraries and plugins install under --prefix (never to absolute paths)" eval '[ -z "$OUT" ]'
PREFIX="$STAGE/opt/corral-sdk-test"
# The library directory as GNUInstallDirs chose it (lib, lib64 or a
# multiarch lib/<triplet> as in Debian package builds).
LIBDIR=$(dirname "$(find "$PREFIX" -name 'libcorral.so.0' | head -1)")
export LD_LIBRARY_PATH="$LIBDIR:${LD_LIBRARY_PATH:-}"
INSTALLED="$PREFIX/bin/corral"

cp -r "$SOURCE_DIR/sdk/examples/hostproc" "$WORK/src"
run cmake -S "$WORK/src" -B "$WORK/b-cmake" -DCMAKE_PREFIX_PATH="$PREFIX"
check "find_package(Corral) configures against the installed SDK" eval '[ $RC -eq 0 ]'
run cmake --build "$WORK/b-cmake"
check "the example builds with corral_add_plugin()" eval '[ $RC -eq 0 ] && [ -f "$WORK/b-cmake/sandbox_hostproc.so" ]'
run nm -D --defined-only "$WORK/b-cmake/sandbox_hostproc.so"
check "the plugin exports only corral_plugin_entry" eval '[ "$(awk "\$2 ~ /[TDBR]/ {print \$3}" <<<"$OUT")" = corral_plugin_entry ]'

run env PKG_CONFIG_PATH="$LIBDIR/pkgconfig" make -C "$WORK/src" -f Makefile.pkgconfig
check "the example builds with pkg-config corral-plugin alone" eval '[ $RC -eq 0 ] && [ -f "$WORK/src/sandbox_hostproc.so" ]'

run env CORRAL_PLUGIN_PATH="$WORK/b-cmake" "$INSTALLED" plugins
check "the installed corral loads it from CORRAL_PLUGIN_PATH" eval '[ $RC -eq 0 ] && grep -qE "^sandbox +hostproc +1\.0\.0 +1\.1 +loaded +$WORK/b-cmake/sandbox_hostproc.so" <<<"$OUT"'
echo '{"sandbox": {"hostproc": {"root_dir": 7}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run env CORRAL_PLUGIN_PATH="$WORK/b-cmake" "$INSTALLED" config check
check "its declared schema is enforced" eval '[ $RC -eq 3 ] && has "$ERR" "sandbox.hostproc.root_dir must be a string"'
echo '{"sandbox": {"hostproc": {"root_dir": ""}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run env CORRAL_PLUGIN_PATH="$WORK/b-cmake" "$INSTALLED" config check
check "its bound option's limit is enforced by the host, naming file and key" eval '[ $RC -eq 3 ] &&
  has "$ERR" "$CORRAL_CONFIG_DIR/corral.json: sandbox.hostproc.root_dir must be a non-empty string"'
finish
