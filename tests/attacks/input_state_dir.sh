#!/bin/bash
# Issue 15 item 22: one rule for corral's state directory, shared by the
# sandbox registry and the local backend ($CORRAL_STATE_DIR, else
# $XDG_STATE_HOME/corral, else /var/lib/corral for root, else
# ~/.local/state/corral).  The registry ignored XDG_STATE_HOME for root
# while the local backend honoured it, so the two drifted apart.
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend local "$0"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
unset CORRAL_STATE_DIR
export XDG_STATE_HOME="$WORK/xdgstate"
run "$CORRAL" sandbox create --backend local --ttl 300
ID=$(tail -n1 <<<"$OUT")
trap '"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
check "registry entry under \$XDG_STATE_HOME/corral/sandboxes" eval '[ "$RC" -eq 0 ] && [ -f "$XDG_STATE_HOME/corral/sandboxes/$ID.json" ]'
check "local backend state under \$XDG_STATE_HOME/corral/local" eval '[ -e "$XDG_STATE_HOME/corral/local/$ID" ]'
run "$CORRAL" sandbox rm "$ID"
export CORRAL_STATE_DIR="$WORK/state"
run "$CORRAL" sandbox create --backend local --ttl 300
ID=$(tail -n1 <<<"$OUT")
check "CORRAL_STATE_DIR wins for both" eval '[ "$RC" -eq 0 ] && [ -f "$CORRAL_STATE_DIR/sandboxes/$ID.json" ] && [ -e "$CORRAL_STATE_DIR/local/$ID" ]'
run "$CORRAL" sandbox rm "$ID"
check "rm finds it again" eval '[ "$RC" -eq 0 ]'
finish
