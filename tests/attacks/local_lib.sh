# The preamble of the local-sandbox attack scripts (sourced): lib.sh, the
# local backend (or skip), sandbox state under $WORK (config in $LOCAL_CONF),
# HERE = this directory, C = corral with the build's plugins.
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend local "$0"
export CORRAL_STATE_DIR="$WORK/state"
LOCAL_CONF="$CORRAL_CONFIG_DIR/conf.d/10-local.json"
echo "{\"sandbox\": {\"local\": {\"state_dir\": \"$WORK/lstate\"}}}" >"$LOCAL_CONF"
HERE=$(cd "$(dirname "$0")" && pwd)
C() { "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" "$@"; }
