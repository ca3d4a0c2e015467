# A same-dialect upstream (docs/gate-dialects.md, "Same-dialect upstreams"):
# `corral gate serve --responder upstream:URL --upstream-dialect messages` in
# front of a fake Anthropic API (tests/fakes/fake_anthropic.py).  A streamed
# and an unstreamed Messages call reach /v1/messages as sent, with the key in
# x-api-key only, and come back byte for byte; the transcript keeps the
# answer; a chat call is refused 400 naming the mismatch.  A stream is
# relayed as it arrives (the fake holds back the rest until the client has
# the first event), a reset mid-stream ends it with the Messages error event,
# and a streamed tool_use answer is recorded as the message it streams, an
# ATIF step with its tool call.
. "$(dirname "$0")/lib.sh"
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export CORRAL_GATE_TRAINER_TOKEN="trainer-token-$(rnd)"
export UPSTREAM_KEY="sk-ant-fake-$(rnd)"
python3 "$SOURCE_DIR/tests/fakes/fake_anthropic.py" --api-key "$UPSTREAM_KEY" --port-file "$WORK/fake.port" \
  --signal-file "$WORK/go" \
  >/dev/null 2>"$WORK/fake.err" &
fake=$!
for _ in $(seq 100); do [ -s "$WORK/fake.port" ] && break; sleep 0.1; done
fport=$(jq -r .port "$WORK/fake.port")
"$CORRAL" gate serve --listen 127.0.0.1:0 --trainer-listen 127.0.0.1:0 --upstream-dialect messages \
  --responder "upstream:http://127.0.0.1:$fport/v1" --upstream-key-env UPSTREAM_KEY \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
serve=$!
trap 'kill $fake $serve 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do grep -q trainer_url "$WORK/serve.out" && break; sleep 0.1; done
turl=$(jq -r .trainer_url "$WORK/serve.out"); url=$(jq -r .url "$WORK/serve.out")

run "$CORRAL" gate serve --upstream-dialect klingon
check "an unknown --upstream-dialect is a usage error naming the choices" eval '[ $RC -eq 2 ] &&
  has "$ERR" "chat, messages, responses or gemini"'

tauth="Authorization: Bearer $CORRAL_GATE_TRAINER_TOKEN"
tok=$(curl -s -X POST -H "$tauth" "$turl/v1/rollouts/r-pass" | jq -r .token)
base="$url/rollout/r-pass/v1"
req='{"model":"claude-x","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
code=$(curl -s -o "$WORK/stream.sse" -D "$WORK/stream.h" -w '%{http_code}' -H "x-api-key: $tok" \
  -H 'Content-Type: application/json' -d "$req" "$base/messages")
direct=$(curl -s -H "x-api-key: $UPSTREAM_KEY" -H 'Content-Type: application/json' -d "$req" \
  "http://127.0.0.1:$fport/v1/messages")
check "a streamed Messages call gets the upstream's SSE byte for byte" eval '[ "$code" = 200 ] &&
  grep -qi "^content-type: text/event-stream" "$WORK/stream.h" && [ "$(cat "$WORK/stream.sse")" = "$direct" ] &&
  has "$direct" "event: message_stop"'
code=$(curl -s -o "$WORK/plain.json" -w '%{http_code}' -H "Authorization: Bearer $tok" \
  -H 'Content-Type: application/json' -d '{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"hey"}]}' \
  "$base/messages")
check "an unstreamed one gets the upstream's message" eval '[ "$code" = 200 ] &&
  [ "$(jq -r ".content[0].text" "$WORK/plain.json")" = "Hello from the fake Anthropic API" ]'

curl -s "http://127.0.0.1:$fport/_log" >"$WORK/log.json"
check "the upstream got the agent's own bodies on /v1/messages, its key in x-api-key only, the session id" eval '
  [ "$(jq -r "[.[] | select(.headers[\"x-session-id\"] == \"r-pass\") | .path] | join(\",\")" "$WORK/log.json")" = "/v1/messages,/v1/messages" ] &&
  [ "$(jq -c ".[0].body | fromjson" "$WORK/log.json")" = "$(jq -c . <<<"$req")" ] &&
  [ "$(jq -r "[.[0,2].headers | .[\"x-api-key\"] == env.UPSTREAM_KEY and (has(\"authorization\") | not) and .[\"anthropic-version\"] != null] | all" "$WORK/log.json")" = true ]'

code=$(curl -s -o "$WORK/chat.json" -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' "$base/chat/completions")
check "a chat call to a Messages upstream is refused 400, naming both dialects" eval '[ "$code" = 400 ] &&
  [ "$(jq -r .error.code "$WORK/chat.json")" = dialect_mismatch ] && has "$(cat "$WORK/chat.json")" "messages only" &&
  has "$(cat "$WORK/chat.json")" "chat_completions call"'

curl -s -H "$tauth" "$turl/v1/rollouts/r-pass/transcript" >"$WORK/tr.json"
check "the transcript keeps the stream's text, the message, the raw requests and the refusal" eval '
  [ "$(jq -r ".[0].raw_response" "$WORK/tr.json")" = "$direct" ] && [ "$(jq -r ".[0].dialect" "$WORK/tr.json")" = messages ] &&
  [ "$(jq -r ".[1].response.content[0].text" "$WORK/tr.json")" = "Hello from the fake Anthropic API" ] &&
  [ "$(jq -c ".[0].request" "$WORK/tr.json")" = "$(jq -c . <<<"$req")" ] && [ "$(jq -r ".[2].status" "$WORK/tr.json")" = 400 ]'
check "the streamed call's response is the message it streamed" eval '
  [ "$(jq -r ".[0].response | [.type, .content[0].text, .stop_reason, .usage.output_tokens] | @csv" "$WORK/tr.json")" = \
    "\"message\",\"Hello from the fake Anthropic API\",\"end_turn\",6" ] && [ "$(jq ".[0] | has(\"stream_incomplete\")" "$WORK/tr.json")" = false ]'

# Relayed as it arrives: the fake sends message_start, then holds the rest until $WORK/go exists, which
# is made only once the client has that first event (a gate that buffers never shows it before).
msg() { printf '{"model":"%s","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}' "$1"; }
curl -sN --max-time 90 -o "$WORK/slow.sse" -H "x-api-key: $tok" -H 'Content-Type: application/json' \
  -d "$(msg claude-slow)" "$base/messages" &
cpid=$!
first=no
for _ in $(seq 300); do grep -q "^event: message_start" "$WORK/slow.sse" 2>/dev/null && { first=yes; break; }; sleep 0.1; done
touch "$WORK/go"
wait $cpid
check "a stream's first event reaches the agent before the upstream sent the rest, then the rest follows" eval '
  [ $first = yes ] && grep -q "^event: message_stop" "$WORK/slow.sse" && [ "$(grep -c "^event: content_block_delta" "$WORK/slow.sse")" = 6 ]'
# The agent leaving mid-stream aborts the upstream transfer (the fake's writes fail).
rm -f "$WORK/go"
curl -sN --max-time 90 -o "$WORK/long.sse" -H "x-api-key: $tok" -H 'Content-Type: application/json' \
  -d "$(msg claude-long)" "$base/messages" &
cpid=$!
for _ in $(seq 300); do grep -q "^event: message_start" "$WORK/long.sse" 2>/dev/null && break; sleep 0.1; done
kill $cpid; wait $cpid 2>/dev/null
touch "$WORK/go"
outcome=
for _ in $(seq 300); do
  outcome=$(curl -s "http://127.0.0.1:$fport/_log" | jq -r '[.[] | select(.body | contains("claude-long"))][0].outcome // empty')
  [ -n "$outcome" ] && break; sleep 0.1
done
check "the agent leaving mid-stream aborts the upstream transfer" eval '[ "$outcome" = aborted ]'
run curl -sN --max-time 60 -o "$WORK/reset.sse" -H "x-api-key: $tok" -H 'Content-Type: application/json' \
  -d "$(msg claude-reset)" "$base/messages"
check "an upstream reset mid-stream ends the agent's stream with an Anthropic error event, no hang" eval '[ $RC -eq 0 ] &&
  grep -q "^event: content_block_start" "$WORK/reset.sse" && grep -q "^event: error" "$WORK/reset.sse" &&
  ! grep -q "message_stop" "$WORK/reset.sse" && [ "$(grep "^data:.*api_error" "$WORK/reset.sse" | sed "s/^data: //" | jq -r .type)" = error ]'
run curl -sN --max-time 60 -o "$WORK/tool.sse" -H "x-api-key: $tok" -H 'Content-Type: application/json' \
  -d "$(msg claude-tool)" "$base/messages"
curl -s -H "$tauth" "$turl/v1/rollouts/r-pass/transcript" >"$WORK/tr.json"
check "a streamed tool_use answer is recorded as a message: text, then tool_use with its input JSON joined" eval '
  [ "$(jq -c "[.[] | select(.request.model == \"claude-tool\")][0].response | [.content, .stop_reason]" "$WORK/tr.json")" = \
    "[[{\"type\":\"text\",\"text\":\"Hello from the fake Anthropic API\"},{\"type\":\"tool_use\",\"id\":\"toolu_fake1\",\"name\":\"bash\",\"input\":{\"command\":\"echo hi > hello.txt\"}}],\"tool_use\"]" ]'
check "the departed agent's call is recorded as such" eval '
  has "$(jq -r "[.[] | select(.request.model == \"claude-long\")][0].error" "$WORK/tr.json")" "agent left mid-stream"'
check "the reset call is recorded with what came and why it stopped" eval '
  [ "$(jq -r "[.[] | select(.request.model == \"claude-reset\")][0] | [.stream_incomplete, (.error | test(\"broke off\")), .response.content[0].type] | @csv" "$WORK/tr.json")" = "true,true,\"text\"" ]'
jq -c '{rollout_id: "r-pass", task: {name: "passthrough"}, agent: {name: "claude_code"}, reward: 1, transcript: [.[] | select(.request.model == "claude-tool")]}' \
  "$WORK/tr.json" >"$WORK/results.jsonl"
run "$CORRAL" export atif "$WORK/results.jsonl" "$WORK/atif"
A="$WORK/atif/r-pass/trajectory.json"
check "ATIF from that result has the streamed call's step with its bash tool call" eval '[ $RC -eq 0 ] &&
  [ "$(jq -c "[.steps[] | select(.source == \"agent\")][0] | [.message, .tool_calls[0].function_name, .tool_calls[0].arguments.command]" "$A")" = \
    "[\"Hello from the fake Anthropic API\",\"bash\",\"echo hi > hello.txt\"]" ]'
if python3 -c 'import jsonschema' 2>/dev/null; then
  run python3 "$SOURCE_DIR/tests/atif/check_atif.py" "$A"
  check "that trajectory is valid ATIF-v1.7" eval '[ $RC -eq 0 ] && [ -z "$OUT" ]'
fi
# Unregistering a rollout mid-stream ends its agent's stream (no hang) and aborts the transfer.
tok2=$(curl -s -X POST -H "$tauth" "$turl/v1/rollouts/r-end" | jq -r .token)
rm -f "$WORK/go"
curl -sN --max-time 90 -o "$WORK/end.sse" -H "x-api-key: $tok2" -H 'Content-Type: application/json' \
  -d "$(msg claude-long | sed 's/"hi"/"bye"/')" "$url/rollout/r-end/v1/messages" &
cpid=$!
for _ in $(seq 300); do grep -q "^event: message_start" "$WORK/end.sse" 2>/dev/null && break; sleep 0.1; done
dcode=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "$tauth" "$turl/v1/rollouts/r-end")
wait $cpid; crc=$?
touch "$WORK/go"
outcome=
for _ in $(seq 300); do
  outcome=$(curl -s "http://127.0.0.1:$fport/_log" | jq -r '[.[] | select(.body | contains("bye"))][0].outcome // empty')
  [ -n "$outcome" ] && break; sleep 0.1
done
check "unregistering a rollout mid-stream ends its stream at once and aborts the upstream transfer" eval '
  [ "$dcode" = 200 ] && [ $crc -eq 0 ] && grep -q "^event: message_start" "$WORK/end.sse" && [ "$outcome" = aborted ]'
# Gemini and Responses upstreams: their routes and key headers (the fake answers them 404, relayed as is).
gemini_req='{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'
responses_req='{"model":"gpt-x","input":"hi","stream":true}'
for d in gemini responses; do
  : >"$WORK/$d.out"
  "$CORRAL" gate serve --listen 127.0.0.1:0 --trainer-listen 127.0.0.1:0 --upstream-dialect $d \
    --responder "upstream:http://127.0.0.1:$fport/$([ $d = gemini ] && echo v1beta || echo v1)" \
    --upstream-key-env UPSTREAM_KEY --upstream-model up-model >"$WORK/$d.out" 2>>"$WORK/serve.err" &
  pid=$!
  for _ in $(seq 100); do grep -q trainer_url "$WORK/$d.out" && break; sleep 0.1; done
  t=$(curl -s -X POST -H "$tauth" "$(jq -r .trainer_url "$WORK/$d.out")/v1/rollouts/r-$d" | jq -r .token)
  b="$(jq -r .url "$WORK/$d.out")/rollout/r-$d/v1"
  if [ $d = gemini ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-goog-api-key: $t" -H 'Content-Type: application/json' \
      -d "$gemini_req" "$b/models/gem-x:streamGenerateContent?alt=sse")
  else
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
      -d "$responses_req" "$b/responses")
  fi
  eval "code_$d=$code"
  kill $pid; wait $pid
done
curl -s "http://127.0.0.1:$fport/_log" >"$WORK/log.json"
check "a Gemini call goes to models/{upstream model}:streamGenerateContent?alt=sse with x-goog-api-key" eval '
  [ "$code_gemini" = 404 ] && [ "$(jq -r "[.[] | select(.headers[\"x-session-id\"] == \"r-gemini\")][0] |
    [.path, .headers[\"x-goog-api-key\"] == env.UPSTREAM_KEY, has(\"authorization\")] | @csv" "$WORK/log.json")" = \
    "\"/v1beta/models/up-model:streamGenerateContent?alt=sse\",true,false" ]'
check "a Responses call goes to /v1/responses with a Bearer key and the upstream model in its own body" eval '
  [ "$code_responses" = 404 ] && [ "$(jq -r "[.[] | select(.headers[\"x-session-id\"] == \"r-responses\")][0] |
    [.path, .headers.authorization == (\"Bearer \" + env.UPSTREAM_KEY), (.body | fromjson | .model, .input)] | @csv" \
    "$WORK/log.json")" = "\"/v1/responses\",true,\"up-model\",\"hi\"" ]'
check "the upstream key is in no log" eval 'lacks "$(cat "$WORK/serve.err" "$WORK/serve.out")" "$UPSTREAM_KEY"'
finish
