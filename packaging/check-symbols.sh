#!/bin/bash
# Checks what leaves the shared objects (nm -D --defined-only):
#  - libcorral exports only corral_* symbols (core/libcorral.map), all under
#    the version node CORRAL_0;
#  - every plugin exports exactly corral_plugin_entry (the version script of
#    sdk/cmake/CorralPlugin.cmake).
#   packaging/check-symbols.sh LIBCORRAL [PLUGIN.so | PLUGIN_DIR]...
set -uo pipefail
fail=0
lib=${1:?usage: check-symbols.sh LIBCORRAL [PLUGIN.so|DIR]...}; shift
# Defined dynamic symbols, without the version node entries themselves.
exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" {print $3}' | sort -u; }

syms=$(exported "$lib")
bad=$(grep -v '^corral_' <<<"$syms" || true)
n=$(grep -c . <<<"$syms")
if [ "$n" -gt 0 ] && [ -z "$bad" ]; then echo "ok - $(basename "$lib") exports $n symbols, all corral_*"
else echo "not ok - $(basename "$lib") exports non-corral_ symbols:"; echo "$bad" | sed 's/^/    /'; fail=1; fi
unversioned=$(nm -D --defined-only --with-symbol-versions "$lib" 2>/dev/null |
              awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" && $3 !~ /@@?CORRAL_0$/ {print $3}')
if [ -z "$unversioned" ]; then echo "ok - $(basename "$lib") symbols all carry version CORRAL_0"
else echo "not ok - symbols without version CORRAL_0: $unversioned"; fail=1; fi

plugins=()
for a in "$@"; do
  if [ -d "$a" ]; then for f in "$a"/sandbox_*.so "$a"/agent_*.so; do [ -e "$f" ] && plugins+=("$f"); done
  else plugins+=("$a"); fi
done
for p in "${plugins[@]}"; do
  s=$(exported "$p" | tr '\n' ' ')
  if [ "$s" = "corral_plugin_entry " ]; then echo "ok - $(basename "$p") exports only corral_plugin_entry"
  else echo "not ok - $(basename "$p") exports: $s"; fail=1; fi
done
[ ${#plugins[@]} -gt 0 ] || echo "# no plugin given or found: only libcorral checked"
exit $fail
