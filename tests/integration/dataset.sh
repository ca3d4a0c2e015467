# corral run --dataset: a directory of tasks with Harbor's filters, a git
# repository pinned to a commit and cached, a Harbor registry.json; what the
# results record; bad specs (docs/datasets.md).
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
export CORRAL_CACHE_DIR="$WORK/cache"
rollout_backend local dataset.sh
EX="$SOURCE_DIR/examples"
T="$SOURCE_DIR/tests/integration/tasks"
command -v git >/dev/null || { echo "SKIP: git is not installed"; exit 77; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com

# A dataset tree: three tasks, a hidden one and a symlinked one (neither taken).
D="$WORK/ds"
mkdir -p "$D/tasks" "$D/.hidden"
cp -r "$EX/tasks/hello" "$D/tasks/hello-a"
cp -r "$EX/tasks/hello" "$D/tasks/hello-b"
cp -r "$T/wrong_answer" "$D/tasks/wrong"
cp -r "$EX/tasks/hello" "$D/.hidden/hello-h"
ln -s "$EX/tasks/hello" "$D/tasks/linked"
echo "not a task" >"$D/README.md"

run "$CORRAL" -q run "${SB[@]}" --dataset "$D" --agent oracle --out "$WORK/all.jsonl"
check "a directory: its 3 tasks ran (not the hidden nor the symlinked one), each recording the dataset" eval '
  [ $RC -eq 0 ] && [ "$(jq -r -s "map(.task.dir | split(\"/\") | last) | sort | join(\",\")" "$WORK/all.jsonl")" = \
    "hello-a,hello-b,wrong" ] && jq -e -s --arg d "$D" "all(.dataset == {source: \$d})" "$WORK/all.jsonl" >/dev/null &&
  [ "$(jq -s "map(.reward) | add" "$WORK/all.jsonl")" = 2 ]'
run "$CORRAL" -q run "${SB[@]}" --dataset "$D" --include "hello-*" --exclude "*-a" --agent oracle
check "--include and --exclude match the task name (or its last part): hello-b only" eval '[ $RC -eq 0 ] &&
  [ "$(jq -r ".task.dir | split(\"/\") | last" <<<"$OUT")" = hello-b ]'
run "$CORRAL" run "${SB[@]}" --dataset "$D" --limit 2 --agent oracle --out "$WORK/lim.jsonl"
check "--limit 2 takes the first two in name order, and the progress line says how many" eval '[ $RC -eq 0 ] &&
  [ "$(jq -r -s "map(.task.dir | split(\"/\") | last) | sort | join(\",\")" "$WORK/lim.jsonl")" = "hello-a,hello-b" ] &&
  has "$ERR" "corral: dataset $D: 2 tasks"'
run "$CORRAL" -q run "${SB[@]}" --dataset "$D" --include "nothing*" --agent oracle
check "a filter that leaves nothing: exit 1, said" eval '[ $RC -eq 1 ] && [ -z "$OUT" ] &&
  has "$ERR" "no task is left after --include/--exclude"'
run "$CORRAL" -q run "${SB[@]}" --dataset "$WORK/empty-nothing" --agent oracle
check "a dataset directory that does not exist: exit 1 naming it" eval '[ $RC -eq 1 ] && has "$ERR" "$WORK/empty-nothing"'
run "$CORRAL" -q run "${SB[@]}" --task "$EX/tasks/hello" --include "x*" --agent oracle
check "--include without --dataset is a usage error" eval '[ $RC -eq 2 ] && has "$ERR" "select from a --dataset"'
run "$CORRAL" -q run "${SB[@]}" --dataset "$D" --limit 0 --agent oracle
check "--limit 0 is refused" eval '[ $RC -eq 2 ]'

# A git repository: by tag, then by commit with the repository gone (the cache answers, no fetch).
R="$WORK/repo"
mkdir -p "$R/bench"
cp -r "$D/tasks/hello-a" "$D/tasks/wrong" "$R/bench/"
git -C "$R" init -q && git -C "$R" add -A && git -C "$R" commit -qm tasks && git -C "$R" tag -a v1 -m v1
SHA=$(git -C "$R" rev-parse 'v1^{commit}')
run "$CORRAL" run "${SB[@]}" --dataset "git+file://$R@v1#bench" --agent oracle --out "$WORK/git.jsonl"
check "git+URL@TAG#PATH: both tasks ran, each result records the source and the commit" eval '[ $RC -eq 0 ] &&
  [ "$(wc -l <"$WORK/git.jsonl")" = 2 ] &&
  jq -e -s --arg s "git+file://$R@v1#bench" --arg c "$SHA" "all(.dataset == {source: \$s, commit: \$c})" \
    "$WORK/git.jsonl" >/dev/null && has "$ERR" "at $SHA"'
check "the task digest of a fetched task equals the local copy's (no .git in the checkout)" eval '[ \
  "$(jq -r -s "map(select(.task.dir | endswith(\"hello-a\")))[0].task_digest" "$WORK/git.jsonl")" = \
  "$(jq -r -s "map(select(.task.dir | endswith(\"hello-a\")))[0].task_digest" "$WORK/all.jsonl")" ] &&
  [ ! -e "$CORRAL_CACHE_DIR/datasets"/*/"$SHA/.git" ]'
mv "$R" "$WORK/repo.gone"
run "$CORRAL" -q run "${SB[@]}" --dataset "git+file://$R@$SHA#bench/hello-a" --agent oracle
check "by commit, the repository gone: the cached checkout runs (nothing fetched)" eval '[ $RC -eq 0 ] &&
  [ "$(jq .reward <<<"$OUT")" = 1 ] && [ "$(jq -r .dataset.commit <<<"$OUT")" = "$SHA" ]'
run "$CORRAL" -q run "${SB[@]}" --dataset "git+file://$R@v1" --agent oracle
check "by tag, the repository gone: exit 1 with git's reason" eval '[ $RC -eq 1 ] && has "$ERR" "git ls-remote file://$R failed"'
mv "$WORK/repo.gone" "$R"
run "$CORRAL" -q run "${SB[@]}" --dataset "git+file://$R@v1#../ds" --agent oracle
check "#PATH with .. is refused" eval '[ $RC -eq 1 ] && has "$ERR" "leaves the dataset"'
ln -s /etc "$R/escape" && git -C "$R" add -A && git -C "$R" commit -qm link && git -C "$R" branch -q evil
run "$CORRAL" -q run "${SB[@]}" --dataset "git+file://$R@evil#escape" --agent oracle
check "#PATH through a symlink out of the checkout is refused" eval '[ $RC -eq 1 ] && has "$ERR" "resolves outside the dataset"'
run "$CORRAL" -q run "${SB[@]}" --dataset "git+file://$R" --agent oracle
check "git+URL without @REF: exit 1 asking for one" eval '[ $RC -eq 1 ] && has "$ERR" "git+URL@REF"'
run "$CORRAL" -q run "${SB[@]}" --dataset "git+file://$R@no-such-branch" --agent oracle
check "an unknown ref: exit 1 naming it" eval '[ $RC -eq 1 ] && has "$ERR" "has no ref \"no-such-branch\""'

# A Harbor registry.json: git tasks pinned by commit, and local ones relative to the file.
cat >"$WORK/registry.json" <<JSON
[{"name": "mini", "version": "1.0", "description": "two tasks", "tasks": [
   {"name": "hello-a", "git_url": "file://$R", "git_commit_id": "$SHA", "path": "bench/hello-a"},
   {"name": "wrong", "git_url": "file://$R", "git_commit_id": "$SHA", "path": "bench/wrong"}]},
 {"name": "mini", "version": "2.0", "tasks": [{"name": "local-b", "path": "ds/tasks/hello-b"}]}]
JSON
run "$CORRAL" -q run "${SB[@]}" --dataset mini@1.0 --registry "$WORK/registry.json" --exclude wrong --agent oracle
check "registry NAME@VERSION: its task ran with name, version and commit recorded" eval '[ $RC -eq 0 ] &&
  [ "$(jq -c ".dataset | [.name, .version, .commit]" <<<"$OUT")" = "[\"mini\",\"1.0\",\"$SHA\"]" ]'
run "$CORRAL" -q run "${SB[@]}" --dataset mini@2.0 --registry "$WORK/registry.json" --agent oracle
check "a registry task without git_url is a path next to the registry file" eval '[ $RC -eq 0 ] &&
  [ "$(jq -r ".task.dir | split(\"/\") | last" <<<"$OUT")" = hello-b ] && [ "$(jq .dataset.commit <<<"$OUT")" = null ]'
run "$CORRAL" -q run "${SB[@]}" --dataset mini --registry "$WORK/registry.json" --agent oracle
check "a name with several versions and none given: exit 1 listing them" eval '[ $RC -eq 1 ] &&
  has "$ERR" "has 2 versions (1.0, 2.0); name one: mini@VERSION"'
run "$CORRAL" -q run "${SB[@]}" --dataset mini@3 --registry "$WORK/registry.json" --agent oracle
check "an unknown version: exit 1 listing the known ones" eval '[ $RC -eq 1 ] && has "$ERR" "no such version"'
cp "$WORK/registry.json" "$R/registry.json" && git -C "$R" add -A && git -C "$R" commit -qm registry
run "$CORRAL" -q run "${SB[@]}" --dataset mini@1.0 --registry "git+file://$R@HEAD" --include hello-a --agent oracle
check "a registry.json in a git repository (default path)" eval '[ $RC -eq 0 ] && [ "$(jq .reward <<<"$OUT")" = 1 ]'
echo '{"not": "a list"}' >"$WORK/bad-registry.json"
run "$CORRAL" -q run "${SB[@]}" --dataset mini --registry "$WORK/bad-registry.json" --agent oracle
check "a registry that is not a JSON list: exit 1 saying so" eval '[ $RC -eq 1 ] && has "$ERR" "not a registry"'
printf '[{"name":"x","tasks":[{"name":"t","path":"../../etc"}]}]' >"$WORK/escape-registry.json"
run "$CORRAL" -q run "${SB[@]}" --dataset x --registry "$WORK/escape-registry.json" --agent oracle
check "a registry task path with .. is refused" eval '[ $RC -eq 1 ] && has "$ERR" "leaves the dataset"'
finish
