/* corral run: one rollout of an agent on a task, printed as RolloutResult JSON. */
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include <corral/rollout.h>
#include <corral/sandbox_host.h>

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void help(void)
{
    printf("Usage: corral run --task DIR --agent NAME [options]\n"
           "\n"
           "Runs one rollout: creates a sandbox, hydrates the task's workspace, runs its setup commands,\n"
           "runs the agent with every model call going through corral's gate, verifies (tests/test.sh and\n"
           "task.json \"verify\"), scores, destroys the sandbox (also on errors, SIGINT and SIGTERM), and\n"
           "prints one RolloutResult JSON document (see README).\n"
           "\n"
           "  --task DIR            the task directory (instruction.md, task.json, workspace/, tests/, solution/)\n"
           "  --agent NAME          agent plugin (see `corral plugins`): pi, opencode, oracle, ...\n"
           "  --sandbox NAME        sandbox backend, default local\n"
           "  --model SPEC          replay:FILE (a JSONL script of responses), upstream:URL (an\n"
           "                        OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1) or trainer\n"
           "  --model-name NAME     the model name the agent asks for (default corral; sent upstream)\n"
           "  --api-key-env VAR     upstream: the NAME of the environment variable holding the API key\n"
           "  --image IMAGE         overrides the task's image\n"
           "  --timeout S           agent timeout in seconds (default: task.json, else the agent's)\n"
           "  --gate-url URL        the gate's base URL as seen from the sandbox (cloud backends);\n"
           "                        default: a unix socket bound into the sandbox plus a local relay\n"
           "  --gate-listen ADDR:PORT  where this rollout's gate listens (default 127.0.0.1:0); with\n"
           "                        --gate-url for sandboxes that reach it over the network\n"
           "  --install-env NAME    pass variable NAME of corral's environment to the agent install\n"
           "                        inside sandboxes without host mounts (cloud backends), never to the\n"
           "                        agent or verification (repeatable; adds to the config's install_env;\n"
           "                        unset names are skipped)\n"
           "  --rollout-id ID       default: generated\n"
           "  --out FILE            write the result there instead of stdout\n"
           "  --keep-sandbox        do not destroy the sandbox (debugging; `corral gc` removes it later)\n"
           "  -q                    no progress lines on stderr\n"
           "\n"
           "  --trainer-listen ADDR:PORT  with --model trainer: where the trainer API listens\n"
           "                        (default 127.0.0.1:0, an ephemeral port)\n"
           "\n"
           "With --model trainer the agent's model calls wait in a queue that a training loop serves\n"
           "through the gate's HTTP trainer API (GET /v1/requests/next, POST /v1/requests/ID/response;\n"
           "see `corral gate serve --help`). Its URL is printed on stderr as \"trainer API at URL\"; its\n"
           "bearer token is read from $CORRAL_GATE_TRAINER_TOKEN (never from the command line).\n"
           "\n"
           "Exit status: 0 the rollout finished without error (whatever its reward), 1 it ended with an\n"
           "error (the result's \"error\" says which: infrastructure, agent or task), 2 bad command line,\n"
           "3 invalid configuration.\n");
}

static void print_progress(void *ud, const char *phase, const char *msg)
{
    (void)ud;
    fprintf(stderr, "corral: [%s] %s\n", phase, msg);
}

/* The gate for --model trainer: its trainer API on its own listener, the
 * token from $CORRAL_GATE_TRAINER_TOKEN.  Returns non-zero on failure. */
static int start_trainer_gate(const char *listen, char *sock, size_t cap, corral_gate **out)
{
    const char *token = getenv("CORRAL_GATE_TRAINER_TOKEN");
    if (!token || strlen(token) < 16) {
        cli_error("run: --model trainer needs the trainer API token in $CORRAL_GATE_TRAINER_TOKEN (16+ characters)");
        return -1;
    }
    char addr[64] = "127.0.0.1";
    long port = 0;
    if (listen) {
        const char *colon = strrchr(listen, ':');
        char *end = NULL;
        port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof addr || *end || port < 0 || port > 65535) {
            cli_error("run: --trainer-listen wants ADDR:PORT, got '%s'", listen);
            return -1;
        }
        snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen), listen);
    }
    snprintf(sock, cap, "/tmp/corral-run-gate-%d.sock", (int)getpid());
    struct corral_gate_options go = {.struct_size = sizeof go, .trainer_listen = 1, .trainer_token = token,
                                     .trainer_bind_address = addr, .trainer_port = (uint16_t)port,
                                     .unix_socket_path = sock};
    struct corral_call gc;
    corral_call_init(&gc, 0);
    if (corral_gate_new(&go, out, &gc) != 0) {
        cli_error("run: cannot start the gate: %s", gc.message);
        return -1;
    }
    fprintf(stderr, "corral: trainer API at %s\n", corral_gate_trainer_url(*out));
    return 0;
}

static int write_out(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        cli_error("run: cannot write %s", path);
        return -1;
    }
    return 0;
}

int cli_cmd_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    static const struct option longopts[] = {
        {"task", required_argument, 0, 't'},      {"agent", required_argument, 0, 'a'},
        {"sandbox", required_argument, 0, 's'},   {"model", required_argument, 0, 'm'},
        {"model-name", required_argument, 0, 'n'}, {"api-key-env", required_argument, 0, 'k'},
        {"image", required_argument, 0, 'i'},     {"timeout", required_argument, 0, 'T'},
        {"gate-url", required_argument, 0, 'g'},  {"rollout-id", required_argument, 0, 'r'},
        {"out", required_argument, 0, 'o'},       {"keep-sandbox", no_argument, 0, 'K'},
        {"trainer-listen", required_argument, 0, 'L'}, {"gate-listen", required_argument, 0, 'G'},
        {"install-env", required_argument, 0, 'E'}, {0, 0, 0, 0}};
    struct corral_rollout_options o = {.struct_size = sizeof o, .sandbox = "local"};
    const char *out = NULL, *trainer_listen = NULL;
    const char *install_env[65];
    size_t n_install_env = 0;
    int quiet = cli_globals.quiet, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
        switch (c) {
        case 't': o.task_dir = optarg; break;
        case 'a': o.agent = optarg; break;
        case 's': o.sandbox = optarg; break;
        case 'm': o.model = optarg; break;
        case 'n': o.model_name = optarg; break;
        case 'k': o.api_key_env = optarg; break;
        case 'i': o.image = optarg; break;
        case 'T': o.agent_timeout_s = atoll(optarg); break;
        case 'g': o.gate_url = optarg; break;
        case 'r': o.rollout_id = optarg; break;
        case 'o': out = optarg; break;
        case 'K': o.keep_sandbox = 1; break;
        case 'L': trainer_listen = optarg; break;
        case 'G': o.gate_listen = optarg; break;
        case 'E':
            if (!corral_env_name_valid(optarg)) {
                cli_error("run: --install-env takes the NAME of an environment variable, not a value");
                return CLI_USAGE;
            }
            if (n_install_env + 1 >= sizeof install_env / sizeof install_env[0]) {
                cli_error("run: too many --install-env");
                return CLI_USAGE;
            }
            install_env[n_install_env++] = optarg;
            break;
        case 'q': quiet = 1; break;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("run: unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    install_env[n_install_env] = NULL;
    o.install_env = n_install_env ? install_env : NULL;
    if (!o.task_dir || !o.agent) {
        cli_error("run: --task DIR and --agent NAME are required (see corral run --help)");
        return CLI_USAGE;
    }
    if (o.api_key_env && !corral_env_name_valid(o.api_key_env)) {
        cli_error("run: --api-key-env takes the NAME of an environment variable, not a key");
        return CLI_USAGE;
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.cancel = &stop_requested;
    if (!quiet)
        o.progress = print_progress;

    corral_gate *gate = NULL;
    char sock[128];
    if (o.model && strcmp(o.model, "trainer") == 0 && start_trainer_gate(trainer_listen, sock, sizeof sock, &gate)) {
        corral_close(ctx);
        return CLI_USAGE;
    }
    if (gate) {
        o.gate = gate;
        o.gate_socket = sock;
    }

    struct corral_call call;
    corral_call_init(&call, 0);
    call.cancel = &stop_requested;
    char *result = NULL;
    corral_rollout_run(ctx, &o, &result, &call);
    corral_gate_free(gate);
    int rc = CLI_OK;
    cJSON *j = result ? cJSON_Parse(result) : NULL;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (!j || !cJSON_IsNull(err))
        rc = CLI_FAIL;
    if (!quiet && j) {
        const cJSON *reward = cJSON_GetObjectItemCaseSensitive(j, "reward");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
        char rbuf[32] = "none";
        if (cJSON_IsNumber(reward))
            snprintf(rbuf, sizeof rbuf, "%g", reward->valuedouble);
        fprintf(stderr, "corral: rollout %s: reward %s%s%s\n",
                cJSON_GetObjectItemCaseSensitive(j, "rollout_id")->valuestring, rbuf,
                cJSON_IsString(msg) ? "; error: " : "", cJSON_IsString(msg) ? msg->valuestring : "");
    }
    if (result) {
        if (out)
            rc = write_out(out, result) == 0 ? rc : CLI_FAIL;
        else
            puts(result);
    }
    cJSON_Delete(j);
    free(result);
    corral_close(ctx);
    return rc;
}
