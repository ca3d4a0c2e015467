/* corral gate serve: the model-call gate as a standalone server (for trainers). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <corral/gate.h>
#include <corral/sandbox_host.h>

#include "cli.h"
#include "crl_common.h"

static void help(FILE *f)
{
    fprintf(f,
        "Usage: corral gate serve [OPTIONS]\n"
        "\n"
        "Run the model-call gate: an OpenAI-compatible endpoint per rollout at\n"
        "  {url}/rollout/{ID}/v1/chat/completions   (and {url}/rollout/{ID}/v1/models)\n"
        "an Anthropic Messages one at {url}/rollout/{ID}/v1/messages, an OpenAI Responses\n"
        "one at {url}/rollout/{ID}/v1/responses, and a Gemini one at\n"
        "  {url}/rollout/{ID}/v1beta/models/MODEL:generateContent (and :streamGenerateContent),\n"
        "and an MCP server (streamable HTTP) at {url}/rollout/{ID}/mcp serving the trainer's tools.\n"
        "Agents authenticate with \"Authorization: Bearer TOKEN\" (or \"x-api-key: TOKEN\"\n"
        "on /v1/messages, \"x-goog-api-key: TOKEN\" or ?key=TOKEN on Gemini routes) where\n"
        "  TOKEN = lowercase hex of HMAC-SHA256(key = SECRET, message = ID)\n"
        "and SECRET is the server secret's bytes (see --secret-file), e.g. in Python\n"
        "  hmac.new(secret, id.encode(), 'sha256').hexdigest()\n"
        "A call with a valid token for an ID not yet registered registers it with the\n"
        "responder below (unless --no-auto-register).  Rollout ids: 1-128 of [A-Za-z0-9._:-].\n"
        "\n"
        "Options:\n"
        "  --listen ADDR:PORT          agent listener (default 127.0.0.1:0, port 0 = any free port)\n"
        "  --unix-socket PATH          also serve agents on this unix socket (mode 0600)\n"
        "  --trainer-listen ADDR:PORT  serve the trainer API on its own listener (default: off)\n"
        "  --responder SPEC            who answers: trainer (default), replay:FILE (JSONL script,\n"
        "                              the n-th call of a rollout gets line n), upstream:URL\n"
        "                              (an OpenAI-compatible base URL such as http://host:8000/v1)\n"
        "  --upstream-key-env NAME     environment variable holding the upstream API key\n"
        "  --upstream-model MODEL      replace the model of forwarded requests\n"
        "  --upstream-token-ids        ask the upstream (vLLM) for the completion's token ids with the\n"
        "                              logprobs and for the prompt's token ids\n"
        "  --upstream-cache-salt-env NAME  environment variable holding vLLM's cache_salt, sent with\n"
        "                              every forwarded call (each also says X-Session-ID: <rollout id>)\n"
        "  --upstream-dialect D        the API the upstream speaks: chat (default: every call translated\n"
        "                              to chat completions), messages, responses or gemini (a call in\n"
        "                              that dialect passed through as sent; others refused, 400)\n"
        "  --model NAME                model id reported by /v1/models (default corral)\n"
        "  --body-limit BYTES          largest request body (default 4194304; larger: 413)\n"
        "  --transcript-limit BYTES    requests and responses kept per rollout (default 33554432;\n"
        "                              past it, entries keep sizes only: \"truncated\": true)\n"
        "  --rollout-connections N     calls of one rollout in progress at once (default 32;\n"
        "                              more get 429)\n"
        "  --idle-timeout SECONDS      close a connection silent this long (default 30)\n"
        "  --upstream-max-n N          lower an agent's \"n\" to N (default 1)\n"
        "  --upstream-max-tokens N     lower max_tokens / max_completion_tokens to N\n"
        "                              (default 32768; -1: no cap)\n"
        "  --request-timeout SECONDS   per-call deadline; then the agent gets a\n"
        "                              non-retryable 400 (default 600)\n"
        "  --secret-file FILE          the server secret: FILE's content, trailing newline removed\n"
        "                              (at least 16 bytes).  A missing FILE is created (mode 0600)\n"
        "                              with 32 random bytes in hex.  Else $CORRAL_GATE_SECRET;\n"
        "                              else a random secret (tokens then come only from the\n"
        "                              trainer API's POST /v1/rollouts/ID).\n"
        "  --trainer-token-file FILE   the trainer API's bearer token, read or created like\n"
        "                              --secret-file.  Else $CORRAL_GATE_TRAINER_TOKEN.  One of\n"
        "                              them is required with --trainer-listen.\n"
        "  --registration-token-file FILE  a second bearer token of the trainer API, read or created\n"
        "                              like --secret-file (else $CORRAL_GATE_REGISTRATION_TOKEN), that\n"
        "                              only lets `corral run --gate URL` nodes register their rollouts\n"
        "                              (the trainer token may too); see \"Remote nodes\" below\n"
        "  --lease SECONDS             a node that stops renewing this long loses its rollouts\n"
        "                              (pending calls get 410; default 30)\n"
        "  --no-auto-register          refuse (401) ids not registered through the trainer API\n"
        "  -h, --help                  this help\n"
        "\n"
        "Trainer API (Authorization: Bearer TRAINER_TOKEN):\n"
        "  GET    /v1/requests/next?timeout=S   next queued call: 200 {\"id\",\"rollout_id\",\"kind\",\"request\"},\n"
        "                                       204 when none came within S seconds (max 300)\n"
        "  POST   /v1/requests/ID/response      answer it; body {\"content\":..,\"tool_calls\":[..]},\n"
        "                                       a chat.completion object, or {\"error\":{..}}\n"
        "  POST   /v1/rollouts/ID               register -> {\"rollout_id\",\"token\",\"base_url\"}\n"
        "  DELETE /v1/rollouts/ID               unregister (pending calls get 410) -> transcript\n"
        "  GET    /v1/rollouts/ID/transcript    the calls so far, with token ids/logprobs if given\n"
        "  GET    /v1/health\n"
        "  POST   /v1/tools                     register an MCP tool: {\"name\",\"description\",\"input_schema\",\n"
        "                                       \"rollout_id\" (optional: one rollout only)} -> 201\n"
        "  GET    /v1/tools[?rollout_id=ID]     the registered tools\n"
        "  DELETE /v1/tools/NAME[?rollout_id=ID]  remove one; a tools/call reaches /v1/requests/next\n"
        "                                       as {\"kind\":\"tool_call\",\"request\":{\"name\",\"arguments\"}},\n"
        "                                       answered with {\"content\":[..],\"isError\"} or {\"text\"}\n"
        "\n"
        "Remote nodes (Authorization: Bearer REGISTRATION_TOKEN or TRAINER_TOKEN; docs/gate.md):\n"
        "  POST   /v1/nodes/NODE/heartbeat      renew the node's lease -> {\"rollouts\",\"lease_seconds\"}\n"
        "  POST   /v1/nodes/NODE/rollouts/ID    register ID for NODE, leased (409 if taken) -> as above\n"
        "  DELETE /v1/nodes/NODE/rollouts/ID    unregister one of NODE's rollouts\n"
        "The node then sends each call to base_url with the rollout's token, like an agent.\n"
        "\n"
        "On start one JSON line goes to stdout: {\"url\",\"unix_socket\",\"trainer_url\"} (no\n"
        "secrets).  SIGINT or SIGTERM stop the gate; pending agent calls get a non-retryable 410 first.\n"
        "Secrets are never taken from the command line and never logged.\n"
        "\n"
        "Exit status: 0 stopped by a signal, 1 could not start, 2 bad command line.\n");
}

/* Read a secret file (trailing whitespace removed), creating it with 32
 * random bytes in hex when it does not exist.  Returns malloc'ed text. */
static char *secret_from_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        char hex[65];
        if (crl_random_hex(hex, 32) != 0) {
            cli_error("cannot draw random bytes for %s", path);
            return NULL;
        }
        int w = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w < 0 || write(w, hex, 64) != 64 || write(w, "\n", 1) != 1) {
            cli_error("cannot create %s: %s", path, strerror(errno));
            if (w >= 0)
                close(w);
            return NULL;
        }
        close(w);
        return strdup(hex);
    }
    if (fd < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        corral_log(CORRAL_LOG_WARN, "gate", "%s is readable by other users (chmod 600 it)", path);
    char buf[4097];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    buf[n] = 0;
    return strdup(buf);
}

char *cli_secret_from(const char *file, const char *env)
{
    if (file)
        return secret_from_file(file);
    const char *v = getenv(env);
    return v && *v ? strdup(v) : NULL;
}

static int serve(int argc, char **argv)
{
    char addr[256] = "127.0.0.1", taddr[256] = "127.0.0.1";
    uint16_t port = 0, tport = 0;
    int trainer = 0, no_auto = 0;
    const char *unix_path = NULL, *responder = "trainer", *key_env = NULL, *up_model = NULL, *model = NULL;
    const char *secret_file = NULL, *ttoken_file = NULL, *rtoken_file = NULL;
    unsigned lease_s = 0;
    int token_ids = 0, up_dialect = 0;
    const char *cache_salt = NULL;
    long long body_limit = 0;
    struct corral_gate_options lim = {.struct_size = sizeof lim}; /* the limits below; 0 = the gate's default */
    double timeout_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
        if (ARG("--listen")) {
            if (crl_parse_host_port(v, addr, sizeof addr, &port)) {
                cli_error("--listen wants ADDR:PORT or [IPV6]:PORT, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (ARG("--trainer-listen")) {
            if (crl_parse_host_port(v, taddr, sizeof taddr, &tport)) {
                cli_error("--trainer-listen wants ADDR:PORT or [IPV6]:PORT, got '%s'", v);
                return CLI_USAGE;
            }
            trainer = 1;
        } else if (ARG("--unix-socket")) {
            unix_path = v;
        } else if (ARG("--responder")) {
            responder = v;
        } else if (ARG("--upstream-key-env")) {
            key_env = v;
        } else if (ARG("--upstream-model")) {
            up_model = v;
        } else if (strcmp(a, "--upstream-token-ids") == 0) {
            token_ids = 1;
        } else if (ARG("--upstream-dialect")) {
            if (corral_gate_dialect_parse(v, &up_dialect) != 0) {
                cli_error("--upstream-dialect wants chat, messages, responses or gemini, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (ARG("--upstream-cache-salt-env")) {
            cache_salt = getenv(v);
            if (!corral_env_name_valid(v) || !cache_salt || !*cache_salt) {
                cli_error("--upstream-cache-salt-env %s: no such non-empty environment variable", v);
                return CLI_USAGE;
            }
        } else if (ARG("--model")) {
            model = v;
        } else if (ARG("--body-limit")) {
            int64_t n;
            if (cli_int_arg("--body-limit", v, 1, INT64_MAX, &n))
                return CLI_USAGE;
            body_limit = n;
        } else if (ARG("--transcript-limit") || ARG("--rollout-connections") || ARG("--idle-timeout") ||
                   ARG("--upstream-max-n") || ARG("--upstream-max-tokens")) {
            int64_t n;
            int toks = strcmp(a, "--upstream-max-tokens") == 0;
            int64_t max = strcmp(a, "--transcript-limit") == 0 ? INT64_MAX : toks ? INT32_MAX : 65536;
            if (cli_int_arg(a, v, toks ? -1 : 1, max, &n) || (toks && n == 0)) {
                if (toks && n == 0)
                    cli_error("--upstream-max-tokens wants a number of tokens, or -1 for no cap");
                return CLI_USAGE;
            }
            if (strcmp(a, "--transcript-limit") == 0)
                lim.transcript_limit = (size_t)n;
            else if (strcmp(a, "--rollout-connections") == 0)
                lim.rollout_connections = (unsigned)n;
            else if (strcmp(a, "--idle-timeout") == 0)
                lim.idle_timeout_s = (unsigned)n;
            else if (strcmp(a, "--upstream-max-n") == 0)
                lim.upstream_max_n = (unsigned)n;
            else
                lim.upstream_max_tokens = n;
        } else if (ARG("--request-timeout")) {
            if (cli_decimal_arg("--request-timeout", v, 0.001, CLI_MAX_SECONDS, &timeout_s))
                return CLI_USAGE;
        } else if (ARG("--secret-file")) {
            secret_file = v;
        } else if (ARG("--trainer-token-file")) {
            ttoken_file = v;
        } else if (ARG("--registration-token-file")) {
            rtoken_file = v;
        } else if (ARG("--lease")) {
            int64_t n;
            if (cli_int_arg("--lease", v, 1, 86400, &n))
                return CLI_USAGE;
            lease_s = (unsigned)n;
        } else if (strcmp(a, "--no-auto-register") == 0) {
            no_auto = 1;
        } else {
            cli_error("unknown or incomplete option '%s' (see corral gate serve --help)", a);
            return CLI_USAGE;
        }
#undef ARG
    }

    struct corral_gate_responder spec = {.struct_size = sizeof spec};
    if (strcmp(responder, "trainer") == 0) {
        spec.kind = CORRAL_GATE_TRAINER;
    } else if (strncmp(responder, "replay:", 7) == 0 && responder[7]) {
        spec.kind = CORRAL_GATE_REPLAY;
        spec.replay_path = responder + 7;
    } else if (strncmp(responder, "upstream:", 9) == 0 && responder[9]) {
        spec.kind = CORRAL_GATE_UPSTREAM;
        spec.upstream_url = responder + 9;
        spec.upstream_api_key_env = key_env;
        spec.upstream_model = up_model;
        spec.upstream_token_ids = token_ids;
        spec.upstream_cache_salt = cache_salt;
        spec.upstream_dialect = up_dialect;
    } else {
        cli_error("--responder wants trainer, replay:FILE or upstream:URL, got '%s'", responder);
        return CLI_USAGE;
    }

    char *secret = cli_secret_from(secret_file, "CORRAL_GATE_SECRET");
    if (secret_file && !secret)
        return CLI_FAIL;
    if (secret && strlen(secret) < 16) {
        cli_error("the server secret must have at least 16 bytes");
        crl_wipe_free(secret);
        return CLI_FAIL;
    }
    char *ttoken = NULL;
    if (trainer) {
        ttoken = cli_secret_from(ttoken_file, "CORRAL_GATE_TRAINER_TOKEN");
        if (!ttoken) {
            if (!ttoken_file)
                cli_error("--trainer-listen needs --trainer-token-file FILE or $CORRAL_GATE_TRAINER_TOKEN");
            crl_wipe_free(secret);
            return ttoken_file ? CLI_FAIL : CLI_USAGE;
        }
    }

    char *rtoken = NULL;
    if (trainer) {
        rtoken = cli_secret_from(rtoken_file, "CORRAL_GATE_REGISTRATION_TOKEN");
        if (rtoken_file && !rtoken) {
            crl_wipe_free(secret);
            crl_wipe_free(ttoken);
            return CLI_FAIL;
        }
    } else if (rtoken_file || lease_s) {
        cli_error("--registration-token-file and --lease go with --trainer-listen");
        crl_wipe_free(secret);
        return CLI_USAGE;
    }

    corral_log_setup(cli_globals.quiet ? CORRAL_LOG_ERROR
                     : cli_globals.verbose >= 2 ? CORRAL_LOG_DEBUG
                     : cli_globals.verbose ? CORRAL_LOG_INFO : CORRAL_LOG_WARN, NULL);

    /* Block the stop signals before any thread starts, then wait for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct corral_gate_options o = {
        .struct_size = sizeof o,
        .bind_address = addr,
        .port = port,
        .unix_socket_path = unix_path,
        .body_limit = (size_t)body_limit,
        .request_timeout_ms = (int64_t)(timeout_s * 1000.0),
        .secret = (const unsigned char *)secret,
        .secret_len = secret ? strlen(secret) : 0,
        .model = model,
        .trainer_listen = trainer,
        .trainer_bind_address = taddr,
        .trainer_port = tport,
        .trainer_token = ttoken,
        .auto_register = no_auto ? NULL : &spec,
        .transcript_limit = lim.transcript_limit,
        .rollout_connections = lim.rollout_connections,
        .idle_timeout_s = lim.idle_timeout_s,
        .upstream_max_n = lim.upstream_max_n,
        .upstream_max_tokens = lim.upstream_max_tokens,
        .registration_token = rtoken,
        .lease_s = lease_s,
    };
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_gate *g = NULL;
    int rc = corral_gate_new(&o, &g, &call);
    crl_wipe_free(secret);
    crl_wipe_free(ttoken);
    crl_wipe_free(rtoken);
    if (rc) {
        cli_error("%s", call.message);
        return CLI_FAIL;
    }
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "url", corral_gate_url(g));
    if (unix_path)
        cJSON_AddStringToObject(info, "unix_socket", unix_path);
    if (corral_gate_trainer_url(g))
        cJSON_AddStringToObject(info, "trainer_url", corral_gate_trainer_url(g));
    cJSON_AddStringToObject(info, "responder", spec.kind == CORRAL_GATE_TRAINER ? "trainer"
                                               : spec.kind == CORRAL_GATE_REPLAY ? "replay" : "upstream");
    char *line = cJSON_PrintUnformatted(info);
    cJSON_Delete(info);
    printf("%s\n", line ? line : "{}");
    fflush(stdout);
    free(line);
    corral_log(CORRAL_LOG_INFO, "gate", "serving agents at %s/rollout/{id}/v1", corral_gate_url(g));

    int sig = 0;
    sigwait(&stop, &sig);
    corral_log(CORRAL_LOG_INFO, "gate", "stopping on signal %d", sig);
    corral_gate_free(g);
    return CLI_OK;
}

int cli_cmd_gate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "serve") != 0) {
        cli_error("unknown gate command '%s' (see corral gate --help)", argv[1]);
        return CLI_USAGE;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        help(stdout);
        return CLI_OK;
    }
    return serve(argc - 1, argv + 1);
}
