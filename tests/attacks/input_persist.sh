#!/bin/bash
# Issue 15 item 21: `corral sandbox persist` into an existing directory
# silently overwrote the user's files and replaced their symlinks, a refused
# persist left partial output, and / was accepted as a target.  Now: a
# non-empty target is refused without --force and nothing changes; the
# output goes to a temporary sibling renamed into place, so a refused
# persist leaves nothing; / is never accepted.
# Usage: input_persist.sh local|docker
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend "$1" "$0"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR" CORRAL_STATE_DIR="$WORK/state"
img=(); [ "$BACKEND" = docker ] && img=(--image "$IMAGE")
run "$CORRAL" sandbox create --backend "$BACKEND" "${img[@]}" --ttl 600
ID=$(tail -n1 <<<"$OUT")
check "a sandbox is created" eval '[ "$RC" -eq 0 ] && [ -n "$ID" ]'
trap '"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
run "$CORRAL" sandbox exec "$ID" -- sh -c 'mkdir -p /tmp/src/sub && echo new >/tmp/src/keep.txt && echo new >/tmp/src/sub/f &&
  mkdir -p /tmp/bad && echo x >/tmp/bad/ok.txt && ln -s /etc/passwd /tmp/bad/escape'
check "files made in the sandbox" eval '[ "$RC" -eq 0 ]'

# The user's directory: a file and a symlink of theirs.
mkdir -p "$WORK/user"
echo mine >"$WORK/user/keep.txt"
ln -s keep.txt "$WORK/user/sub"
before=$(cd "$WORK/user" && ls -la --time-style=+%s . && cat keep.txt)
run "$CORRAL" sandbox persist "$ID" /tmp/src "$WORK/user"
after=$(cd "$WORK/user" && ls -la --time-style=+%s . && cat keep.txt)
check "persist into a non-empty directory is refused and nothing changed" \
  eval '[ "$RC" -ne 0 ] && has "$ERR" "not empty" && [ "$before" = "$after" ] && [ -L "$WORK/user/sub" ]'
run "$CORRAL" sandbox persist --force "$ID" /tmp/src "$WORK/user"
check "--force writes into it" eval '[ "$RC" -eq 0 ] && [ "$(cat "$WORK/user/keep.txt")" = new ]'

# An existing archive file is not replaced without --force.
echo mine >"$WORK/user.tar"
run "$CORRAL" sandbox persist "$ID" /tmp/src "$WORK/user.tar"
check "persist over an existing archive file is refused" eval '[ "$RC" -ne 0 ] && [ "$(cat "$WORK/user.tar")" = mine ]'

for root in / // /. "$WORK/rootlink"; do
  ln -sfn / "$WORK/rootlink"
  run "$CORRAL" sandbox persist --force "$ID" /tmp/src "$root"
  check "persist into $root is refused" eval '[ "$RC" -ne 0 ] && [ ! -e /keep.txt ] && [ ! -e /sub/f ]'
done

# A refused persist (a link leading out of the tree) leaves nothing.
run "$CORRAL" sandbox persist "$ID" /tmp/bad "$WORK/dest"
check "a refused persist leaves no output and no temporary" \
  eval '[ "$RC" -ne 0 ] && [ ! -e "$WORK/dest" ] && [ -z "$(ls -d "$WORK"/dest.corral-* 2>/dev/null)" ]'
mkdir "$WORK/empty"
run "$CORRAL" sandbox persist "$ID" /tmp/bad "$WORK/empty"
check "a refused persist into an empty directory leaves it empty" \
  eval '[ "$RC" -ne 0 ] && [ -d "$WORK/empty" ] && [ -z "$(ls -A "$WORK/empty")" ]'
run "$CORRAL" sandbox persist "$ID" /tmp/src "$WORK/empty"
check "persist into an empty directory works" eval '[ "$RC" -eq 0 ] && [ "$(cat "$WORK/empty/sub/f")" = new ]'
run "$CORRAL" sandbox persist "$ID" /tmp/src "$WORK/fresh/"
check "persist into a new directory works" eval '[ "$RC" -eq 0 ] && [ "$(cat "$WORK/fresh/keep.txt")" = new ]'
finish
