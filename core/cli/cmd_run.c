/* corral run: one rollout of an agent on a task, printed as RolloutResult JSON. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_dataset.h"
#include <corral/dataset.h>
#include "crl_common.h"
#include "run_results.h"
#include <corral/atif.h>
#include <corral/gate.h>
#include <corral/rollout.h>
#include <corral/sandbox_host.h>

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED); /* read by the batch's threads */
}

static void help(void)
{
    printf("Usage: corral run {--task DIR [--task DIR ...] | --dataset SPEC} --agent NAME [options]\n"
           "\n"
           "Runs rollouts: for each, creates a sandbox, hydrates the task's workspace, runs its setup commands,\n"
           "runs the agent with every model call going through corral's gate, verifies (tests/test.sh and\n"
           "task.json \"verify\"), scores, destroys the sandbox (also on errors, SIGINT and SIGTERM), and\n"
           "prints one RolloutResult JSON document (see README). Several rollouts (several --task, or\n"
           "--attempts) run in this one process, sharing one gate, and print one result per line (JSONL) as\n"
           "each ends (so do --shard and --resume); every task is loaded before the first starts. Shards,\n"
           "resuming and retries: docs/batches.md.\n"
           "\n"
           "  --task DIR            a task directory (instruction.md, task.json, workspace/, tests/, solution/);\n"
           "                        repeatable\n"
           "  --dataset SPEC        every task of a dataset, on top of any --task: a directory (each directory\n"
           "                        under it with task.toml, task.json or instruction.md is a task), or\n"
           "                        git+URL@REF[#PATH] (a git repository at a branch, tag or commit, fetched\n"
           "                        once into the cache), or NAME[@VERSION] with --registry; each result\n"
           "                        records the dataset (docs/datasets.md)\n"
           "  --registry R          a Harbor registry.json (a file, or git+URL@REF[#PATH], default PATH\n"
           "                        registry.json) that --dataset NAME[@VERSION] is looked up in\n"
           "  --include GLOB        only the dataset's tasks whose name (or its last part) matches\n"
           "                        (repeatable; Harbor's include filter)\n"
           "  --exclude GLOB        not those (repeatable; Harbor's exclude filter)\n"
           "  --limit N             at most N of the dataset's tasks, in name order, after the globs\n"
           "  --attempts K          rollouts per task (default 1); each result's \"attempt\" numbers them\n"
           "                        0..K-1 and its \"task_digest\" names the task by content, the pair\n"
           "                        `corral report` merges result files on\n"
           "  --concurrency N       rollouts in flight at once (default 1, at most 1024)\n"
           "  --agent NAME          agent plugin (see `corral plugins`): pi, opencode, oracle, ...\n"
           "  --sandbox NAME        sandbox backend, default local\n"
           "  --model SPEC          replay:FILE (a JSONL script of responses), upstream:URL (an\n"
           "                        OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1), vllm:URL\n"
           "                        (upstream:URL that also records vLLM's prompt and completion token ids)\n"
           "                        or trainer\n"
           "  --model-name NAME     the model name the agent asks for (default corral; sent upstream)\n"
           "  --api-key-env VAR     upstream: the NAME of the environment variable holding the API key\n"
           "  --cache-salt-env VAR  upstream: the NAME of the environment variable holding vLLM's\n"
           "                        cache_salt, sent with every forwarded call\n"
           "  --upstream-dialect D  upstream: the API the upstream speaks: chat (default: every call\n"
           "                        translated to chat completions), messages, responses or gemini (a\n"
           "                        call in that dialect passed through as sent; others refused, 400)\n"
           "  --image IMAGE         overrides the task's image\n"
           "  --timeout S           agent timeout in seconds (default: the task's, else the agent's)\n"
           "  --timeout-multiplier X  multiply the setup, agent and verify timeouts, --timeout's too\n"
           "                        (0.01 to 100, rounded up to seconds; Harbor's option of that name)\n"
           "  --agent-timeout-multiplier X, --verifier-timeout-multiplier X,\n"
           "  --agent-setup-timeout-multiplier X  Harbor's per-phase multipliers (0.01 to 100): each\n"
           "                        replaces --timeout-multiplier for the agent, the verify commands or\n"
           "                        the agent's install (900 s before it)\n"
           "  --gate-url URL        the gate's base URL as seen from the sandbox (cloud backends);\n"
           "                        default: a unix socket bound into the sandbox plus a local relay\n"
           "  --gate-listen ADDR:PORT  where this rollout's gate listens (default 127.0.0.1:0); with\n"
           "                        --gate-url for sandboxes that reach it over the network\n"
           "  --upstream-max-tokens N  lower the agent's max_tokens / max_completion_tokens to N before\n"
           "                        a call reaches --model upstream:URL (default: the config's\n"
           "                        limits.upstream_max_tokens, else 32768; -1: no cap)\n"
           "  --upstream-max-n N    lower the agent's n to N (default: limits.upstream_max_n, else 1)\n"
           "  --install-env NAME    pass variable NAME of corral's environment to the agent install\n"
           "                        inside sandboxes without host mounts (cloud backends), never to the\n"
           "                        agent or verification (repeatable; adds to the config's install_env;\n"
           "                        unset names are skipped)\n"
           "  --rollout-id ID       default: generated (one rollout only)\n"
           "  --out FILE            write the result there instead of stdout; several rollouts: one line\n"
           "                        per result, written as each ends (the file is replaced; FILE.manifest\n"
           "                        records the options and task digests for --resume)\n"
           "  --shard I/N|auto|auto/N  run only shard I of N of the (task, attempt) pairs, chosen by task\n"
           "                        digest and attempt (any --task order gives the same split); auto: from\n"
           "                        SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (or _MIN/_MAX), or\n"
           "                        JOB_COMPLETION_INDEX (Kubernetes) with the count as auto/N\n"
           "  --resume              append to --out instead of replacing it, skipping the pairs it holds a\n"
           "                        result for; refused when FILE.manifest shows other options or tasks; a\n"
           "                        torn last line is dropped (with a note); shards may share one FILE\n"
           "  --resume-errors       with --resume, run again the pairs whose result has an error (a\n"
           "                        cancelled rollout always runs again)\n"
           "  --retries N           run a rollout again, up to N more times (at most 100), when its error is\n"
           "                        of a class of --retry-on, after 1 s doubled each time (jittered, at most\n"
           "                        60 s); its sandbox is destroyed; the result's \"attempts\" lists every try\n"
           "  --retry-on CLASS,...  the error classes retried: infrastructure (the default), agent, task\n"
           "  --keep-sandbox        do not destroy the sandbox (debugging; `corral gc` removes it later)\n"
           "  --artifacts DIR       copy Harbor's /logs/agent, /logs/artifacts and /logs/verifier (with\n"
           "                        test-stdout.txt) out of each rollout's sandboxes into DIR/<rollout id>/\n"
           "                        before they are destroyed, also when the rollout failed; and the\n"
           "                        paths a task.toml's artifacts lists into DIR/<rollout id>/files/\n"
           "  --trajectory-dir DIR  also write each rollout's ATIF-v1.7 trajectory (Harbor's format, built\n"
           "                        from its transcript and events; docs/atif.md) to\n"
           "                        DIR/<rollout id>/trajectory.json, after its result is written\n"
           "  --verify-in fresh|same  run the tests in a fresh sandbox with the agent's final workdir\n"
           "                        copied in, or in the agent's own (default: the task's\n"
           "                        \"verify_sandbox\", else fresh)\n"
           "  --egress FILE         an egress policy (JSON, docs/egress.md) for every phase, over the\n"
           "                        task's \"egress\"; enforced on local, docker, islo and e2b (which\n"
           "                        refuses rules it cannot express); hf refuses any policy\n"
           "  -q                    no progress lines on stderr\n"
           "\n"
           "  --trainer-listen ADDR:PORT  with --model trainer: where the trainer API listens\n"
           "                        (default 127.0.0.1:0, an ephemeral port)\n"
           "  --trainer-tools FILE  with --model trainer: MCP tools (JSON: one {\"name\", \"description\",\n"
           "                        \"input_schema\", \"rollout_id\"?} or an array) offered to the agents\n"
           "                        through the gate before any starts; their calls reach the trainer\n"
           "                        queue (docs/gate.md \"Tools over MCP\")\n"
           "  --gate URL            a central `corral gate serve`'s trainer API (its --trainer-listen URL):\n"
           "                        this run keeps its own gate for its sandboxes and forwards every model\n"
           "                        call there, answered by the trainer that polls it (implies --model\n"
           "                        trainer; docs/gate.md \"Remote nodes\"). The registration token is read\n"
           "                        from --gate-token-file FILE, else $CORRAL_GATE_REGISTRATION_TOKEN\n"
           "\n"
           "With --model trainer the agent's model calls wait in a queue that a training loop serves\n"
           "through the gate's HTTP trainer API (GET /v1/requests/next, POST /v1/requests/ID/response;\n"
           "see `corral gate serve --help`). Its URL is printed on stderr as \"trainer API at URL\"; its\n"
           "bearer token is read from $CORRAL_GATE_TRAINER_TOKEN (never from the command line).\n"
           "\n"
           "Progress goes to stderr (one line per phase, prefixed [task#attempt] when there are several,\n"
           "and a summary at the end); -q silences it. SIGINT or SIGTERM stops a batch: no new rollout\n"
           "starts, running ones are cancelled and their sandboxes destroyed, their results still printed.\n"
           "\n"
           "Exit status: 0 every rollout finished without error (whatever its reward), 1 one ended with an\n"
           "error (its result's \"error\" says which: infrastructure, agent or task) or did not start, a\n"
           "task failed to load, or a result could not be written, 2 bad command line, 3 invalid\n"
           "configuration, 4 the agent is not loaded (several rollouts; one rollout reports it in its result).\n"
           "With --resume only the rollouts this run starts count; with --retries a rollout's last try.\n");
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
    uint16_t port = 0;
    if (listen && crl_parse_host_port(listen, addr, sizeof addr, &port)) {
        cli_error("run: --trainer-listen wants ADDR:PORT or [IPV6]:PORT, got '%s'", listen);
        return -1;
    }
    snprintf(sock, cap, "/tmp/corral-run-gate-%d.sock", (int)getpid());
    struct corral_gate_options go = {.struct_size = sizeof go, .trainer_listen = 1, .trainer_token = token,
                                     .trainer_bind_address = addr, .trainer_port = port,
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

/* --trainer-tools FILE: the tools of FILE (POST /v1/tools' form, one
 * object or an array) registered on the gate before any rollout starts, so
 * an agent that lists MCP tools once, as it starts, is offered them.
 * Returns non-zero, reported, when the file or a tool is refused. */
static int add_trainer_tools(corral_gate *gate, const char *path)
{
    size_t len = 0;
    int err = 0;
    char *json = crl_read_file_max(path, 16u << 20, &len, &err);
    if (!json) {
        cli_error("run: --trainer-tools %s: %s", path, err ? strerror(err) : "larger than 16 MiB");
        return -1;
    }
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = corral_gate_add_tools_json(gate, json, len, &call);
    free(json);
    if (rc != 0)
        cli_error("run: --trainer-tools %s: %s", path, call.message);
    return rc;
}

/* ---- --gate URL: this run as a remote node of a central gate ---- */
enum { OPT_GATE = 0x240, OPT_GATE_TOKEN_FILE, OPT_TRAINER_TOOLS };

/* A local gate whose trainer queue a corral_gate_node forwards to the
 * central gate at url (docs/gate.md "Remote nodes"); the registration
 * token from token_file, else $CORRAL_GATE_REGISTRATION_TOKEN.  Checked
 * before any sandbox exists.  Returns CLI_OK, CLI_USAGE (no token) or
 * CLI_FAIL (refused, unreachable), reported. */
static int start_node_gate(const char *url, const char *token_file, unsigned workers, char *sock, size_t cap,
                           corral_gate **gate, corral_gate_node **node)
{
    if (token_file && access(token_file, R_OK) != 0) {
        cli_error("run: --gate-token-file %s: %s", token_file, strerror(errno));
        return CLI_USAGE;
    }
    char *token = cli_secret_from(token_file, "CORRAL_GATE_REGISTRATION_TOKEN");
    if (!token || strlen(token) < 16) {
        cli_error("run: --gate needs a registration token of 16+ characters in --gate-token-file FILE or "
                  "$CORRAL_GATE_REGISTRATION_TOKEN");
        crl_wipe_free(token);
        return CLI_USAGE;
    }
    snprintf(sock, cap, "/tmp/corral-run-gate-%d.sock", (int)getpid());
    struct corral_gate_options go = {.struct_size = sizeof go, .unix_socket_path = sock};
    struct corral_call gc;
    corral_call_init(&gc, 0);
    int rc = corral_gate_new(&go, gate, &gc);
    if (rc == 0 && (rc = corral_gate_node_start(*gate, url, token, workers, node, &gc)) != 0) {
        corral_gate_free(*gate);
        *gate = NULL;
    }
    crl_wipe_free(token);
    if (rc)
        cli_error("run: --gate: %s", gc.message);
    return rc ? CLI_FAIL : CLI_OK;
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

/* One rollout of the command line: its progress label. */
struct run_item {
    char label[96];
};

/* What the batch reports into (on_result runs one at a time). */
struct run_state {
    const char *out;          /* --out FILE, or NULL for stdout */
    int lines;                /* a batch: JSONL, a line per result as it ends, into res */
    struct cli_results res;
    struct run_item *items;
    size_t n, done, errors;
    double reward_sum;
    size_t rewarded;
    int quiet, write_failed;
    const char *trajectory_dir; /* --trajectory-dir DIR, or NULL */
};

/* --trajectory-dir: the result's trajectory, after the result itself was
 * written (a failure here is reported and fails the run, the result stays). */
static void write_trajectory(struct run_state *s, const struct corral_rollout_result *r)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_atif_write(s->trajectory_dir, r->json, r->json_len, NULL, &call) != 0) {
        cli_error("run: rollout %s: its trajectory: %s", r->rollout_id, call.message);
        s->write_failed = 1;
    }
}

static void item_progress(void *ud, const char *phase, const char *msg)
{
    const struct run_item *it = ud;
    fprintf(stderr, "corral: [%s] [%s] %s\n", it->label, phase, msg);
}

/* One result: a progress line with its reward and error, then its JSON to
 * stdout or --out.  Reads the typed fields; the JSON is only passed on. */
static void on_result(void *ud, size_t i, const struct corral_rollout_result *r)
{
    struct run_state *s = ud;
    s->done++;
    s->errors += r->error_class != CORRAL_ROLLOUT_OK || !r->json;
    if (r->has_reward) {
        s->reward_sum += r->reward;
        s->rewarded++;
    }
    if (!s->quiet) {
        char rbuf[32] = "none", where[128] = "", count[48] = "";
        if (r->has_reward)
            snprintf(rbuf, sizeof rbuf, "%g", r->reward);
        if (s->lines) {
            snprintf(where, sizeof where, "[%s] ", s->items[i].label);
            snprintf(count, sizeof count, " (%zu/%zu done)", s->done, s->n);
        }
        fprintf(stderr, "corral: %srollout %s: reward %s%s%s%s\n", where, r->rollout_id, rbuf,
                r->error_message ? "; error: " : "", r->error_message ? r->error_message : "", count);
    }
    if (!r->json) {
        cli_error("run: rollout %s: out of memory rendering its result", r->rollout_id);
        s->write_failed = 1;
    } else if (s->lines) {
        if (cli_results_append(&s->res, r->json) != 0) {
            if (!s->write_failed)
                cli_error("run: cannot write %s", s->out ? s->out : "the results");
            s->write_failed = 1;
        }
    } else if (s->out) {
        s->write_failed |= write_out(s->out, r->json) != 0;
    } else {
        puts(r->json);
        fflush(stdout);
    }
    if (r->json && s->trajectory_dir)
        write_trajectory(s, r);
}

/* What a task file holds that corral reads but does not honour (task.toml
 * fields, docs/harbor.md), one "warning:" line each on stderr; a task that
 * does not load is reported by the run itself. */
static void task_warnings(char **tasks, size_t n_tasks)
{
    for (size_t i = 0; i < n_tasks; i++) {
        struct corral_task *t = NULL;
        struct corral_call c;
        corral_call_init(&c, 0);
        if (corral_task_load(tasks[i], &t, &c) == 0)
            for (size_t k = 0; t->warnings && t->warnings[k]; k++)
                cli_error("warning: %s", t->warnings[k]);
        corral_task_free(t);
    }
}

/* Before a batch starts: every task loads and the agent exists, so a typo
 * in the last task does not surface an hour in. */
static int preflight(corral_ctx *ctx, char **tasks, size_t n_tasks, const char *agent)
{
    if (!corral_plugin_find(ctx, CORRAL_PLUGIN_AGENT, agent)) {
        cli_error("run: agent '%s' is not loaded (see `corral plugins`)", agent);
        return CLI_UNAVAILABLE;
    }
    for (size_t i = 0; i < n_tasks; i++) {
        struct corral_task *t = NULL;
        struct corral_call c;
        corral_call_init(&c, 0);
        if (corral_task_load(tasks[i], &t, &c) != 0) {
            cli_error("run: %s", c.message);
            return CLI_FAIL;
        }
        corral_task_free(t);
    }
    return CLI_OK;
}

/* A rollout id names files and sandboxes: a plain name, never a path. */
static int rollout_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || id[0] == '.')
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Whether --model names a responder corral has: 0, or -1 with why filled.
 * A replay script must be readable now, not when the first rollout starts
 * (each rollout of a batch would fail on it in turn). */
static int model_spec_check(const char *m, char *why, size_t cap)
{
    if (strncmp(m, "replay:", 7) == 0) {
        int err = ENOENT;
        int fd = m[7] ? crl_open_regular(AT_FDCWD, m + 7, 0, &err) : -1;
        if (fd < 0) {
            if (m[7])
                snprintf(why, cap, "replay script '%s': %s", m + 7, crl_file_strerror(err));
            else
                snprintf(why, cap, "replay:FILE needs the script's file name");
            return -1;
        }
        close(fd);
        return 0;
    }
    if ((strncmp(m, "upstream:", 9) == 0 && m[9]) || (strncmp(m, "vllm:", 5) == 0 && m[5]) ||
        strcmp(m, "trainer") == 0)
        return 0;
    snprintf(why, cap, "'%s' is not replay:FILE, upstream:URL, vllm:URL or trainer", m);
    return -1;
}

static void task_label(const char *dir, size_t attempt, size_t attempts, char *buf, size_t cap)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    const char *b = dir + len;
    while (b > dir && b[-1] != '/')
        b--;
    if (attempts > 1)
        snprintf(buf, cap, "%.*s#%zu", (int)(len - (size_t)(b - dir)), b, attempt + 1);
    else
        snprintf(buf, cap, "%.*s", (int)(len - (size_t)(b - dir)), b);
}

/* getopt values of long-only options, past the dataset options' (cli_dataset.h). */
enum { OPT_ARTIFACTS = 0x210, OPT_RESUME_ERRORS, OPT_SALT_ENV, OPT_TRAJECTORY_DIR, OPT_UPSTREAM_DIALECT };
/* Harbor's per-phase timeout multipliers: one option each, one handler. */
enum { OPT_AGENT_MULT = 0x230, OPT_VERIFIER_MULT, OPT_SETUP_MULT };
#define HARBOR_MULT_LONGOPTS                                                                                         \
    {"agent-timeout-multiplier", required_argument, 0, OPT_AGENT_MULT},                                              \
        {"verifier-timeout-multiplier", required_argument, 0, OPT_VERIFIER_MULT},                                    \
        {"agent-setup-timeout-multiplier", required_argument, 0, OPT_SETUP_MULT}


/* --retry-on: a comma-separated list of error classes into a mask of
 * 1u << enum corral_rollout_error.  0, or -1 on an unknown name. */
static int retry_classes(const char *list, unsigned *mask)
{
    static const struct { const char *name; int cls; } names[] = {
        {"infrastructure", CORRAL_ROLLOUT_ERR_INFRA}, {"agent", CORRAL_ROLLOUT_ERR_AGENT},
        {"task", CORRAL_ROLLOUT_ERR_TASK}};
    *mask = 0;
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ","), k = 0;
        while (k < sizeof names / sizeof names[0] &&
               !(strlen(names[k].name) == len && strncmp(p, names[k].name, len) == 0))
            k++;
        if (k == sizeof names / sizeof names[0])
            return -1;
        *mask |= 1u << names[k].cls;
        p += len;
        if (!*p)
            return 0;
    }
}

/* Every task's content digest (the key of shards and --resume) into the
 * caller's digests[n] (malloc'ed strings; free_digests).  CLI_OK or CLI_FAIL. */
static int task_digests(char **tasks, size_t n, char **digests)
{
    for (size_t i = 0; digests && i < n; i++) {
        struct corral_call c;
        corral_call_init(&c, 0);
        digests[i] = malloc(CORRAL_TASK_DIGEST_LEN);
        if (!digests[i] || corral_task_digest(tasks[i], digests[i], &c) != 0) {
            cli_error("run: %s", digests[i] ? c.message : "out of memory");
            return CLI_FAIL;
        }
    }
    if (!digests)
        cli_error("run: out of memory");
    return digests ? CLI_OK : CLI_FAIL;
}

static void free_digests(char **digests, size_t n)
{
    for (size_t i = 0; digests && i < n; i++)
        free(digests[i]);
    free(digests);
}

/* The batch's results file (stdout without --out) and its manifest of
 * options `o` and the tasks' digests.  0, or -1 after saying why. */
static int open_results(struct cli_results *res, const char *out, const struct corral_rollout_options *o,
                        char **digests, size_t n_tasks, int resume, int resume_errors)
{
    struct cli_manifest_options m = {
        .agent = o->agent, .sandbox = o->sandbox, .model = o->model, .model_name = o->model_name, .image = o->image,
        .verify_in = o->verify_sandbox == CORRAL_VERIFY_SAME ? "same" : o->verify_sandbox ? "fresh" : NULL,
        .timeout_s = o->agent_timeout_s, .upstream_max_tokens = o->upstream_max_tokens,
        .timeout_multiplier = o->timeout_multiplier, .upstream_max_n = o->upstream_max_n,
        .agent_timeout_multiplier = o->agent_timeout_multiplier,
        .verifier_timeout_multiplier = o->verifier_timeout_multiplier,
        .agent_setup_timeout_multiplier = o->agent_setup_timeout_multiplier};
    cJSON *manifest = out ? cli_manifest_new(&m, digests, n_tasks) : NULL;
    if (out && !manifest) {
        cli_error("run: out of memory");
        return -1;
    }
    int rc = cli_results_open(res, out, manifest, resume, resume_errors);
    cJSON_Delete(manifest);
    return rc;
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
        {"install-env", required_argument, 0, 'E'}, {"attempts", required_argument, 0, 'A'},
        {"concurrency", required_argument, 0, 'j'}, {"upstream-max-tokens", required_argument, 0, 'X'},
        {"upstream-max-n", required_argument, 0, 'N'}, {"verify-in", required_argument, 0, 'V'},
        {"timeout-multiplier", required_argument, 0, 'M'}, {"egress", required_argument, 0, 'e'},
        {"shard", required_argument, 0, 'S'}, {"resume", no_argument, 0, 'R'},
        {"resume-errors", no_argument, 0, OPT_RESUME_ERRORS}, {"retries", required_argument, 0, 'y'},
        {"retry-on", required_argument, 0, 'Y'}, CLI_DATASET_LONGOPTS,
        {"artifacts", required_argument, 0, OPT_ARTIFACTS}, {"cache-salt-env", required_argument, 0, OPT_SALT_ENV},
        {"upstream-dialect", required_argument, 0, OPT_UPSTREAM_DIALECT},
        {"trajectory-dir", required_argument, 0, OPT_TRAJECTORY_DIR}, HARBOR_MULT_LONGOPTS,
        {"gate", required_argument, 0, OPT_GATE}, {"gate-token-file", required_argument, 0, OPT_GATE_TOKEN_FILE},
        {"trainer-tools", required_argument, 0, OPT_TRAINER_TOOLS}, {0, 0, 0, 0}};
    const char *gate_central = NULL, *gate_token_file = NULL; /* --gate */
    const char *trainer_tools = NULL;
    corral_gate_node *gate_node = NULL;
    struct corral_rollout_options o = {.struct_size = sizeof o, .sandbox = "local"};
    const char *out = NULL, *trainer_listen = NULL, *shard = NULL;
    int resume = 0, resume_errors = 0;
    unsigned retries = 0, retry_on = 0;
    const char *install_env[65];
    char **tasks = calloc((size_t)argc, sizeof *tasks);
    size_t n_install_env = 0, n_tasks = 0, n_cli_tasks;
    struct cli_dataset_args dsa = {0};
    char artifacts[PATH_MAX], trajectory_dir[PATH_MAX];
    const char *trajectories = NULL;
    struct corral_dataset *dataset = NULL;
    long attempts = 1, concurrency = 1;
    int64_t num;
    int quiet = cli_globals.quiet, c;
    if (!tasks)
        return CLI_FAIL;
#define USAGE_EXIT(...)                                                                                        \
    do {                                                                                                       \
        cli_error(__VA_ARGS__);                                                                                \
        free(tasks);                                                                                           \
        corral_dataset_free(dataset);                                                                          \
        return CLI_USAGE;                                                                                      \
    } while (0)
    optind = 1;
    while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
        switch (c) {
        case 't': tasks[n_tasks++] = optarg; break;
        case 'a': o.agent = optarg; break;
        case 's': o.sandbox = optarg; break;
        case 'm': o.model = optarg; break;
        case 'n': o.model_name = optarg; break;
        case 'k': o.api_key_env = optarg; break;
        case OPT_SALT_ENV:
            if (!corral_env_name_valid(optarg) || !getenv(optarg) || !*getenv(optarg))
                USAGE_EXIT("run: --cache-salt-env %s: no such non-empty environment variable", optarg);
            o.upstream_cache_salt = getenv(optarg);
            break;
        case OPT_UPSTREAM_DIALECT:
            if (corral_gate_dialect_parse(optarg, &o.upstream_dialect) != 0)
                USAGE_EXIT("run: --upstream-dialect wants chat, messages, responses or gemini, got '%s'", optarg);
            break;
        case 'i': o.image = optarg; break;
        case 'T':
            if (cli_int_arg("--timeout", optarg, 1, CLI_MAX_SECONDS, &o.agent_timeout_s))
                USAGE_EXIT("run: see corral run --help");
            break;
        case 'M':
            if (cli_decimal_arg("--timeout-multiplier", optarg, 0.01, 100, &o.timeout_multiplier))
                USAGE_EXIT("run: see corral run --help");
            break;
        case OPT_AGENT_MULT:
        case OPT_VERIFIER_MULT:
        case OPT_SETUP_MULT: {
            double *m = c == OPT_AGENT_MULT      ? &o.agent_timeout_multiplier
                        : c == OPT_VERIFIER_MULT ? &o.verifier_timeout_multiplier
                                                 : &o.agent_setup_timeout_multiplier;
            const char *name = c == OPT_AGENT_MULT      ? "--agent-timeout-multiplier"
                               : c == OPT_VERIFIER_MULT ? "--verifier-timeout-multiplier"
                                                        : "--agent-setup-timeout-multiplier";
            if (cli_decimal_arg(name, optarg, 0.01, 100, m))
                USAGE_EXIT("run: see corral run --help");
            break;
        }
        case 'g': o.gate_url = optarg; break;
        case 'r': o.rollout_id = optarg; break;
        case 'o': out = optarg; break;
        case 'K': o.keep_sandbox = 1; break;
        case 'e': o.egress_file = optarg; break;
        case 'V':
            if (strcmp(optarg, "fresh") && strcmp(optarg, "same"))
                USAGE_EXIT("run: --verify-in must be fresh or same");
            o.verify_sandbox = strcmp(optarg, "fresh") == 0 ? CORRAL_VERIFY_FRESH : CORRAL_VERIFY_SAME;
            break;
        case 'L': trainer_listen = optarg; break;
        case 'G': o.gate_listen = optarg; break;
        case 'A':
            if (cli_int_arg("--attempts", optarg, 1, 100000, &num))
                USAGE_EXIT("run: see corral run --help");
            attempts = (long)num;
            break;
        case 'j':
            if (cli_int_arg("--concurrency", optarg, 1, 1024, &num))
                USAGE_EXIT("run: see corral run --help");
            concurrency = (long)num;
            break;
        case 'X':
            if (cli_int_arg("--upstream-max-tokens", optarg, -1, INT32_MAX, &o.upstream_max_tokens) ||
                !o.upstream_max_tokens)
                USAGE_EXIT("run: --upstream-max-tokens wants a number of tokens, or -1 for no cap");
            break;
        case 'N':
            if (cli_int_arg("--upstream-max-n", optarg, 1, 128, &num))
                USAGE_EXIT("run: see corral run --help");
            o.upstream_max_n = (unsigned)num;
            break;
        case 'E':
            if (!corral_env_name_valid(optarg))
                USAGE_EXIT("run: --install-env takes the NAME of an environment variable, not a value");
            if (n_install_env + 1 >= sizeof install_env / sizeof install_env[0])
                USAGE_EXIT("run: too many --install-env");
            install_env[n_install_env++] = optarg;
            break;
        case CLI_OPT_DATASET:
        case CLI_OPT_REGISTRY:
        case CLI_OPT_INCLUDE:
        case CLI_OPT_EXCLUDE:
        case CLI_OPT_LIMIT:
            if (cli_dataset_option(&dsa, c, optarg))
                USAGE_EXIT("run: see corral run --help");
            break;
        case OPT_ARTIFACTS: {
            int e = crl_mkdir_p(optarg, 0755);
            if (e || !realpath(optarg, artifacts))
                USAGE_EXIT("run: --artifacts %s: %s", optarg, strerror(e ? -e : errno));
            o.artifacts_dir = artifacts;
            break;
        }
        case OPT_TRAJECTORY_DIR: {
            int e = crl_mkdir_p(optarg, 0755);
            if (e || !realpath(optarg, trajectory_dir))
                USAGE_EXIT("run: --trajectory-dir %s: %s", optarg, strerror(e ? -e : errno));
            trajectories = trajectory_dir;
            break;
        }
        case OPT_GATE: gate_central = optarg; break;
        case OPT_GATE_TOKEN_FILE: gate_token_file = optarg; break;
        case OPT_TRAINER_TOOLS: trainer_tools = optarg; break;
        case 'S': shard = optarg; break;
        case 'R': resume = 1; break;
        case OPT_RESUME_ERRORS: resume_errors = 1; break;
        case 'y':
            if (cli_int_arg("--retries", optarg, 0, 100, &num))
                USAGE_EXIT("run: see corral run --help");
            retries = (unsigned)num;
            break;
        case 'Y':
            if (retry_classes(optarg, &retry_on))
                USAGE_EXIT("run: --retry-on takes a list of infrastructure, agent, task (e.g. infrastructure,agent)");
            break;
        case 'q': quiet = 1; break;
        default: free(tasks); return CLI_USAGE;
        }
    }
    if (optind < argc)
        USAGE_EXIT("run: unexpected argument '%s'", argv[optind]);
    if (trainer_tools && gate_central)
        USAGE_EXIT("run: --trainer-tools registers tools on this run's own gate; with --gate, register them on the "
                   "central gate (POST /v1/tools) before the nodes start");
    if (trainer_tools && (!o.model || strcmp(o.model, "trainer") != 0))
        USAGE_EXIT("run: --trainer-tools needs --model trainer (the trainer answers the tools' calls)");
    if (gate_central && o.model && strcmp(o.model, "trainer") != 0)
        USAGE_EXIT("run: --gate forwards model calls to a central trainer: it cannot go with --model %s", o.model);
    if (gate_central)
        o.model = "trainer";
    install_env[n_install_env] = NULL;
    o.install_env = n_install_env ? install_env : NULL;
    if ((!n_tasks && !dsa.spec) || !o.agent)
        USAGE_EXIT("run: --task DIR (or --dataset) and --agent NAME are required (see corral run --help)");
    if (cli_dataset_check(&dsa))
        USAGE_EXIT("run: see corral run --help");
    char why[512];
    if (o.model && model_spec_check(o.model, why, sizeof why))
        USAGE_EXIT("run: --model %s", why);
    if (o.api_key_env && !corral_env_name_valid(o.api_key_env))
        USAGE_EXIT("run: --api-key-env takes the NAME of an environment variable, not a key");
    if (o.api_key_env && (!getenv(o.api_key_env) || !*getenv(o.api_key_env)))
        USAGE_EXIT("run: --api-key-env %s: that variable is not set (or empty) in corral's environment; "
                   "the upstream would get no key", o.api_key_env);
    if (o.rollout_id && !rollout_id_valid(o.rollout_id))
        USAGE_EXIT("run: --rollout-id takes 1 to 64 of A-Z a-z 0-9 . _ - (not starting with a dot)");
    n_cli_tasks = n_tasks;
    if (cli_dataset_tasks(&dsa, &tasks, &n_tasks, &dataset) != CLI_OK) {
        free(tasks);
        return CLI_FAIL;
    }
    size_t n = n_tasks * (size_t)attempts;
    if (n > 1 && o.rollout_id)
        USAGE_EXIT("run: --rollout-id names one rollout; with several, each gets a generated id");
    if ((resume || resume_errors) && !out)
        USAGE_EXIT("run: --resume%s needs --out FILE", resume_errors ? "-errors" : "");
    if (resume_errors && !resume)
        USAGE_EXIT("run: --resume-errors goes with --resume");
    if (retries && o.keep_sandbox)
        USAGE_EXIT("run: --keep-sandbox and --retries: a retried rollout's sandbox is always destroyed");
    struct corral_call sc;
    corral_call_init(&sc, 0);
    unsigned shard_i = 0, shard_n = 1;
    char shard_from[160] = "";
    if (shard && corral_batch_shard_parse(shard, &shard_i, &shard_n, shard_from, sizeof shard_from, &sc))
        USAGE_EXIT("run: %s", sc.message);
    int lines = n > 1 || shard || resume; /* JSONL, a line per result as it ends */
#undef USAGE_EXIT
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx) {
        free(tasks);
        corral_dataset_free(dataset);
        return code;
    }
    task_warnings(tasks, n_tasks);
    struct corral_call ec;
    corral_call_init(&ec, 0);
    if (o.egress_file && corral_egress_check_file(o.egress_file, &ec) != 0) {
        cli_error("run: --egress %s", ec.message);
        corral_close(ctx);
        free(tasks);
        corral_dataset_free(dataset);
        return CLI_FAIL;
    }
    char **digests = lines ? calloc(n_tasks, sizeof *digests) : NULL;
    if ((lines && (code = preflight(ctx, tasks, n_tasks, o.agent)) != CLI_OK) ||
        (lines && (code = task_digests(tasks, n_tasks, digests)) != CLI_OK)) {
        free_digests(digests, n_tasks);
        corral_close(ctx);
        free(tasks);
        corral_dataset_free(dataset);
        return code;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    corral_gate *gate = NULL;
    char sock[128];
    int gate_rc = gate_central ? start_node_gate(gate_central, gate_token_file, (unsigned)concurrency * 2, sock,
                                                 sizeof sock, &gate, &gate_node)
                  : o.model && strcmp(o.model, "trainer") == 0 &&
                            start_trainer_gate(trainer_listen, sock, sizeof sock, &gate) ? CLI_USAGE : CLI_OK;
    if (gate_rc == CLI_OK && trainer_tools && add_trainer_tools(gate, trainer_tools)) {
        corral_gate_free(gate);
        gate_rc = CLI_USAGE;
    }
    if (gate_rc) {
        corral_close(ctx);
        free(tasks);
        corral_dataset_free(dataset);
        return gate_rc;
    }
    if (gate) {
        o.gate = gate;
        o.gate_socket = sock;
    }

    struct corral_rollout_options *each = calloc(n, sizeof *each);
    struct run_state rs = {.out = out, .n = n, .quiet = quiet, .items = calloc(n, sizeof *rs.items), .lines = lines,
                           .res = {.fd = -1}, .trajectory_dir = trajectories};
    int rc = CLI_OK;
    size_t total = n, skipped = 0, skipped_errors = 0;
    if (!each || !rs.items) {
        cli_error("run: out of memory");
        rc = CLI_FAIL;
    } else if (lines && open_results(&rs.res, out, &o, digests, n_tasks, resume, resume_errors)) {
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && shard && !quiet)
        fprintf(stderr, "corral: shard %u of %u (counted from 0; from %s)\n", shard_i, shard_n, shard_from);
    n = 0;
    for (size_t i = 0; rc == CLI_OK && i < total; i++) {
        size_t t = i / (size_t)attempts;
        unsigned a = (unsigned)(i % (size_t)attempts);
        if (lines && corral_batch_shard_of(digests[t], a, shard_n) != shard_i)
            continue;
        int done = lines ? cli_results_done(&rs.res, digests[t], a) : 0;
        if (done) {
            skipped++, skipped_errors += done == 2;
            continue;
        }
        each[n] = o;
        each[n].task_dir = tasks[t];
        each[n].attempt = a;
        each[n].dataset = t >= n_cli_tasks ? dataset : NULL;
        task_label(tasks[t], a, (size_t)attempts, rs.items[n].label, sizeof rs.items[n].label);
        if (!quiet) {
            each[n].progress = lines ? item_progress : print_progress;
            each[n].progress_ud = &rs.items[n];
        }
        n++;
    }
    rs.n = n;
    if (rc == CLI_OK) {
        if (!quiet && skipped)
            fprintf(stderr, "corral: %zu rollouts are in %s already (%zu with an error%s)\n", skipped, out,
                    skipped_errors, skipped_errors ? ", kept: see --resume-errors" : "");
        if (!quiet && lines && n)
            fprintf(stderr, "corral: %zu rollouts (%s%zu tasks x %ld attempts), %ld at a time\n", n,
                    n < total ? "of " : "", n_tasks, attempts, concurrency < (long)n ? concurrency : (long)n);
        struct corral_batch_options bo = {.struct_size = sizeof bo, .concurrency = (unsigned)concurrency,
                                          .cancel = &stop_requested, .pretty = !lines, .ud = &rs,
                                          .on_rollout_result = on_result, .retries = retries,
                                          .retry_on = retry_on};
        struct corral_call call;
        corral_call_init(&call, 0);
        int st = corral_batch_run(ctx, each, n, &bo, &call);
        if (st && st != CORRAL_ECANCELED)
            cli_error("run: %s", call.message);
        if (st || rs.errors || rs.write_failed || rs.done < n)
            rc = CLI_FAIL;
        if (!quiet && lines) {
            char mean[80] = "";
            if (rs.rewarded)
                snprintf(mean, sizeof mean, "; mean reward %.4g over %zu", rs.reward_sum / (double)rs.rewarded,
                         rs.rewarded);
            fprintf(stderr, "corral: %zu rollouts: %zu ran (%zu with an error), %zu not started%s\n", n, rs.done,
                    rs.errors, n - rs.done, mean);
        }
    }
    if (cli_results_close(&rs.res) != 0 && !rs.write_failed) {
        cli_error("run: cannot write %s", out);
        rc = CLI_FAIL;
    }
    free_digests(digests, n_tasks);
    corral_gate_node_stop(gate_node);
    corral_gate_free(gate);
    free(rs.items);
    free(each);
    free(tasks);
    corral_dataset_free(dataset);
    corral_close(ctx);
    return rc;
}
