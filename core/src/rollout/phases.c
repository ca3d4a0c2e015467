/*
 * The rollout's phases around the agent (the table is in rollout.c, the
 * agent's phase in agent_phase.c): load, gate, create, hydrate, setup,
 * verify, destroy.  Each reads the plan, records what fails with
 * crl_rollout_fail() (the phase is the running row's) and returns
 * non-zero to end the lifecycle.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "rollout/agent_install.h"
#include "rollout/rollout_internal.h"
#include "sandbox/sandbox_internal.h"

#define AGENT_MOUNT_ROOT "/opt/corral/agents"
#define GATE_SOCKET_IN_SANDBOX "/run/corral-gate/gate.sock"
#define LOGS_DIR "/logs"
#define REWARD_DIR LOGS_DIR "/verifier"
#define TESTS_DIR "/tests"
/* The verifier's PATH: system directories only (none the agent's setup adds). */
#define VERIFIER_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOUSEKEEPING_TIMEOUT_S 60     /* mkdir and reward-dir resets, not the task's commands */

#define INFRA CORRAL_ROLLOUT_ERR_INFRA
#define TASK CORRAL_ROLLOUT_ERR_TASK

/* ---- load ------------------------------------------------------------------------- */

static int load_inputs(struct rollout *r, int *spec_ok)
{
    if (!r->o->task_dir || !r->o->agent)
        return crl_rollout_fail(r, TASK, CORRAL_EINVAL, "a task directory and an agent are required");
    int st = corral_task_load(r->o->task_dir, &r->task, r->call);
    if (st)
        return crl_rollout_fail(r, TASK, st, "%s", r->call->message);
    crl_record_set(&r->rec.task_name, r->task->name);
    char digest[CORRAL_TASK_DIGEST_LEN];
    if ((st = corral_task_digest(r->task->dir, digest, r->call)) != 0)
        return crl_rollout_fail(r, TASK, st, "%s", r->call->message);
    crl_record_set(&r->rec.task_digest, digest);
    if (r->task->version)
        crl_record_set(&r->rec.task_version, r->task->version);
    if (r->task->metadata_json)
        r->rec.task_metadata = cJSON_Parse(r->task->metadata_json);
    if (r->task->warnings && r->task->warnings[0])
        r->rec.task_warnings = cJSON_CreateStringArray((const char *const *)r->task->warnings,
                                                       (int)crl_strv_len((const char *const *)r->task->warnings));
    r->agent = corral_plugin_find(r->ctx, CORRAL_PLUGIN_AGENT, r->o->agent);
    if (!r->agent)
        return crl_rollout_fail(r, INFRA, CORRAL_ENOTFOUND, "agent '%s' is not loaded (see `corral plugins`)",
                                r->o->agent);
    const struct corral_agent_ops *ops = r->agent->desc->ops;
    char why[512];
    if (crl_agent_spec_parse(ops->spec_json, &r->spec, why, sizeof why) != 0)
        return crl_rollout_fail(r, INFRA, CORRAL_EINVAL, "agent %s: %s", r->o->agent, why);
    *spec_ok = 1;
    crl_record_set(&r->rec.agent_version, r->agent->desc->version);
    /* an agent that cannot use the task's MCP servers fails before any sandbox exists */
    cJSON *mcp = r->task->mcp_servers_json ? cJSON_Parse(r->task->mcp_servers_json) : NULL;
    st = crl_agent_mcp_check(&r->spec, mcp, why, sizeof why);
    cJSON_Delete(mcp);
    if (st)
        return crl_rollout_fail(r, TASK, CORRAL_ENOTSUP, "%s", why);
    return 0;
}

/* The task, the agent and its spec; then the plan, from whatever loaded
 * (the result names the backend also when the task did not load). */
int crl_phase_load(struct rollout *r)
{
    int spec_ok = 0;
    int st = load_inputs(r, &spec_ok);
    crl_rollout_plan_resolve(r->o, r->task, spec_ok ? &r->spec : NULL, &r->plan);
    crl_record_set(&r->rec.backend, r->plan.backend);
    r->rec.timeouts_s[0] = r->plan.setup_s;
    r->rec.timeouts_s[1] = r->plan.install_s;
    r->rec.timeouts_s[2] = r->plan.agent_s;
    r->rec.timeouts_s[3] = r->plan.verify_s;
    if (st)
        return st;
    snprintf(r->run, sizeof r->run, "/tmp/corral-%s", r->rec.id);
    snprintf(r->home, sizeof r->home, "%s/home", r->run);
    snprintf(r->task_in, sizeof r->task_in, "%s/task", r->run);
    snprintf(r->agent_mount, sizeof r->agent_mount, "%s/%s", AGENT_MOUNT_ROOT, r->spec.name);
    return 0;
}

/* ---- gate ------------------------------------------------------------------------- */

static int responder_from_model(struct rollout *r, struct corral_gate_responder *resp)
{
    const char *m = r->o->model;
    *resp = (struct corral_gate_responder){.struct_size = sizeof *resp, .aux_no_tools = r->spec.aux_no_tools,
                                           .aux_max_tokens_below = r->spec.aux_max_tokens_below,
                                           .aux_system_prefix = r->spec.aux_system_prefix};
    if (!m)
        return crl_rollout_fail(r, INFRA, CORRAL_EINVAL,
                                "agent %s calls a model: give --model replay:FILE, upstream:URL, vllm:URL or trainer",
                                r->spec.name);
    if (strncmp(m, "replay:", 7) == 0) {
        resp->kind = CORRAL_GATE_REPLAY;
        resp->replay_path = m + 7;
    } else if (strncmp(m, "upstream:", 9) == 0 || strncmp(m, "vllm:", 5) == 0) {
        /* vllm:URL is upstream:URL that also asks for token ids
         * (docs/gate.md, "RL capture"). */
        resp->kind = CORRAL_GATE_UPSTREAM;
        resp->upstream_token_ids = m[0] == 'v';
        resp->upstream_url = m + (m[0] == 'v' ? 5 : 9);
        resp->upstream_api_key_env = r->o->api_key_env;
        resp->upstream_model = r->o->model_name;
        resp->upstream_cache_salt = CORRAL_HAS_FIELD(r->o, upstream_cache_salt) ? r->o->upstream_cache_salt : NULL;
        resp->upstream_dialect = CORRAL_HAS_FIELD(r->o, upstream_dialect) ? r->o->upstream_dialect : 0;
    } else if (strcmp(m, "trainer") == 0) {
        resp->kind = CORRAL_GATE_TRAINER;
    } else {
        return crl_rollout_fail(r, INFRA, CORRAL_EINVAL, "model '%s' is not replay:FILE, upstream:URL, vllm:URL or trainer",
                                m);
    }
    return 0;
}

/* Register the rollout with the options' gate, or with a private gate of
 * its own, when the agent calls a model. */
int crl_phase_gate(struct rollout *r)
{
    int st = crl_egress_prepare(r);
    if (st || !r->spec.uses_model)
        return st;
    struct corral_gate_responder resp;
    st = responder_from_model(r, &resp);
    if (st)
        return st;
    if (r->o->gate) {
        r->gate = r->o->gate;
        if (!r->o->gate_socket && !r->o->gate_url)
            return crl_rollout_fail(r, INFRA, CORRAL_EINVAL, "a shared gate needs its unix socket path or a gate URL");
        snprintf(r->gate_socket, sizeof r->gate_socket, "%s", r->o->gate_socket ? r->o->gate_socket : "");
    } else {
        /* One agent calls this gate, one call at a time: one HTTP thread per
         * listener is enough, and each extra thread costs memory. */
        st = crl_private_gate_start(r->ctx, r->o, r->plan.model_name, r->o->gate_listen, 1, &r->own_gate, r->call);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        r->gate = r->own_gate.gate;
        snprintf(r->gate_socket, sizeof r->gate_socket, "%s", r->own_gate.socket);
    }
    st = corral_gate_register(r->gate, r->rec.id, &resp, r->token, r->call);
    if (st)
        return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
    r->registered = 1;
    /* The sandbox gets a socket of the rollout's own, not the gate's
     * shared one: what its agent holds open there blocks no one else. */
    if (r->o->gate_url)
        return 0;
    char own[sizeof r->gate_socket];
    st = corral_gate_rollout_socket(r->gate, r->rec.id, own, sizeof own, r->call);
    if (st && st != CORRAL_ENOTSUP)
        return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
    if (!st)
        snprintf(r->gate_socket, sizeof r->gate_socket, "%s", own);
    return 0;
}

/* ---- create ----------------------------------------------------------------------- */

/* The corral-forward binary on the host (crl_find_libexec's search). */
int crl_find_forwarder(char *buf, size_t cap)
{
    return crl_find_libexec("corral-forward", buf, cap);
}

/* What a backend with host mounts gets bound in: the agent installed on
 * the host, the relay, the gate's socket and the egress proxy's.  Fills
 * mounts (room for 4) and *n. */
static int host_mounts(struct rollout *r, struct corral_mount *mounts, size_t *n, char *forwarder, size_t cap)
{
    if (r->spec.npm) {
        int st = crl_agent_install_host(&r->spec, r->agent_dir, sizeof r->agent_dir, r->call);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "installing %s: %s", r->spec.name, r->call->message);
        mounts[(*n)++] = (struct corral_mount){r->agent_dir, r->agent_mount, 1};
    }
    if (r->registered && !r->o->gate_url) {
        if (crl_find_forwarder(forwarder, cap) != 0)
            return crl_rollout_fail(r, INFRA, CORRAL_ENOTFOUND,
                                    "corral-forward not found (set CORRAL_LIBEXEC_DIR or reinstall corral)");
        mounts[(*n)++] = (struct corral_mount){forwarder, CRL_FORWARD_IN_SANDBOX, 1};
        /* The socket file itself: the gate may be the rollout's own (in
         * its private dir) or a shared one (trainer mode).  Read-only: a
         * socket on a read-only mount still accepts connect(), but the
         * sandbox's root can no longer chmod/chown the host's inode. */
        mounts[(*n)++] = (struct corral_mount){r->gate_socket, GATE_SOCKET_IN_SANDBOX, 1};
    }
    return crl_egress_mounts(r, mounts, n, forwarder, cap, r->registered && !r->o->gate_url);
}

static int new_sandbox(struct rollout *r, const struct corral_mount *mounts, size_t n_mounts,
                       corral_sandbox **out);

int crl_phase_create(struct rollout *r)
{
    const struct crl_rollout_plan *p = &r->plan;
    const struct corral_plugin_record *rec = corral_plugin_find(r->ctx, CORRAL_PLUGIN_SANDBOX, p->backend);
    if (!rec)
        return crl_rollout_fail(r, INFRA, CORRAL_ENOTFOUND,
                                "sandbox backend '%s' is not loaded (see `corral plugins`)", p->backend);
    const struct corral_sandbox_ops *ops = rec->desc->ops;
    struct corral_mount mounts[4];
    size_t n_mounts = 0;
    char forwarder[PATH_MAX];
    int st = 0;
    if (ops->caps & CORRAL_CAP_HOST_MOUNTS) {
        st = host_mounts(r, mounts, &n_mounts, forwarder, sizeof forwarder);
    } else {
        snprintf(r->agent_mount, sizeof r->agent_mount, "%s/agent", r->run); /* installed inside, per sandbox */
        if (r->registered && !r->o->gate_url)
            st = crl_rollout_fail(r, INFRA, CORRAL_ECONFIG,
                                  "backend '%s' cannot reach the gate through a local socket: give the gate's URL "
                                  "as seen from the sandbox (--gate-url)",
                                  p->backend);
    }
    if (!st)
        st = crl_rollout_build_image(r);
    if (st)
        return st;
    st = new_sandbox(r, mounts, n_mounts, &r->sb);
    if (st)
        return st;
    crl_record_set(&r->rec.sandbox_id, corral_sandbox_id(r->sb));
    crl_rollout_progress(r, "sandbox %s created", corral_sandbox_id(r->sb));
    return 0;
}

/* A sandbox of the plan's backend, image, workdir, network and TTL with
 * the task's env and resources and the given mounts, into *out; failures
 * are recorded (infrastructure). */
static int new_sandbox(struct rollout *r, const struct corral_mount *mounts, size_t n_mounts, corral_sandbox **out)
{
    const struct crl_rollout_plan *p = &r->plan;
    struct corral_sandbox_spec spec = {
        .struct_size = sizeof spec,
        .image = p->image,
        .env = (const char *const *)r->task->env,
        .workdir = p->workdir,
        .ttl_s = p->ttl_s,
        .cpus = r->task->cpus,
        .memory_bytes = r->task->memory_bytes,
        .pids_max = r->task->pids,
        .storage_bytes = r->task->storage_bytes,
        .network = p->network,
        .egress_json = crl_egress_native_first(r),
        .mounts = n_mounts ? mounts : NULL,
        .n_mounts = n_mounts,
    };
    struct corral_sandbox_create_opts co = {.struct_size = sizeof co, .backend = p->backend, .rollout = r->rec.id,
                                         .owner_lease = 1};
    int st = corral_sandbox_create(r->ctx, &co, &spec, out, r->call);
    if (st)
        return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
    crl_egress_native_created(r, *out, spec.egress_json);
    return 0;
}

/* ---- hydrate ---------------------------------------------------------------------- */

static int mkdirs(struct rollout *r, const char *const *dirs)
{
    const char *argv[16] = {"mkdir", "-p"};
    size_t n = 2;
    for (; *dirs && n + 1 < CRL_ARRAY_LEN(argv); dirs++)
        argv[n++] = *dirs;
    argv[n] = NULL;
    int code = 0;
    int st = crl_rollout_exec(r, argv, NULL, "/", NULL, HOUSEKEEPING_TIMEOUT_S, NULL, &code);
    if (st)
        return st;
    return code ? corral_call_fail(r->call, CORRAL_EIO, "mkdir -p %s failed with %d", argv[2], code) : 0;
}

/* Copy the task's directory rel into the sandbox's dst through a dirfd
 * that was opened without following a link (crl_task_open_dir): a task is
 * untrusted, and its links are copied as links, never followed on the
 * host.  CORRAL_ENOTFOUND when missing, CORRAL_EINVAL when refused. */
static int hydrate_task_dir(struct rollout *r, const char *rel, const char *dst)
{
    int fd;
    int st = crl_task_open_dir(r->task, rel, &fd, r->call);
    if (st)
        return st;
    char src[PATH_MAX + 32];
    snprintf(src, sizeof src, "%s/%s", r->task->dir, rel);
    st = crl_sandbox_hydrate_at(r->sb, fd, src, dst, r->call);
    close(fd);
    return st;
}

int crl_phase_hydrate(struct rollout *r)
{
    /* Harbor's /logs/agent and /logs/artifacts exist for every task; what
     * lands there is collected with --artifacts (crl_phase_collect). */
    const char *dirs[] = {r->plan.workdir, r->run, r->home, r->task_in, LOGS_DIR "/agent", LOGS_DIR "/artifacts",
                          NULL};
    int st = mkdirs(r, dirs);
    if (st)
        return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
    char src[PATH_MAX + 32];
    if (r->task->has_workspace) {
        st = hydrate_task_dir(r, "workspace", r->plan.workdir);
        if (st)
            return crl_rollout_fail(r, st == CORRAL_EINVAL ? TASK : INFRA, st, "workspace: %s", r->call->message);
    }
    if (r->task->agent_user && (st = crl_rollout_user_probe(r, r->task->agent_user, "agent")) != 0)
        return st;
    if (r->task->verifier_user && (st = crl_rollout_user_probe(r, r->task->verifier_user, "verifier")) != 0)
        return st;
    const cJSON *tf;
    cJSON_ArrayForEach(tf, r->spec.task_files) {
        char dst[256];
        snprintf(src, sizeof src, "%s/%s", r->task->dir, tf->valuestring);
        snprintf(dst, sizeof dst, "%s/%s", r->task_in, tf->valuestring);
        st = hydrate_task_dir(r, tf->valuestring, dst);
        /* Harbor's oracle finds the solution at /solution. */
        if (!st && r->task->harbor && strcmp(tf->valuestring, "solution") == 0)
            st = hydrate_task_dir(r, "solution", "/solution");
        if (st == CORRAL_ENOTFOUND)
            return crl_rollout_fail(r, TASK, CORRAL_EINVAL, "agent %s needs the task's %s/ directory (%s)",
                                    r->spec.name, tf->valuestring, src);
        if (st)
            return crl_rollout_fail(r, st == CORRAL_EINVAL ? TASK : INFRA, st, "%s: %s", tf->valuestring,
                                    r->call->message);
    }
    return 0;
}

/* ---- setup ------------------------------------------------------------------------ */

/* The task's setup commands, with env added to the sandbox's. */
static int setup_commands(struct rollout *r, const struct crl_strv *env)
{
    for (char **c = r->task->setup; c && *c; c++) {
        if (crl_rollout_cancelled(r))
            return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_CANCELLED, CORRAL_ECANCELED, "cancelled");
        int code = 0;
        int st = crl_rollout_exec(r, NULL, *c, r->plan.workdir, crl_strv_get(env), r->plan.setup_s, &r->rec.setup,
                                  &code);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        if (code != 0)
            return crl_rollout_fail(r, TASK, CORRAL_EINVAL, "setup command %zu exited with %d: %s", r->rec.setup.n,
                                    code, *c);
    }
    return 0;
}

int crl_phase_setup(struct rollout *r)
{
    struct crl_strv env = {0};
    int st = r->task->setup ? crl_egress_enter(r, CRL_EGRESS_SETUP, &env) : 0;
    if (!st)
        st = setup_commands(r, &env);
    crl_egress_leave(r);
    crl_strv_free(&env);
    return st;
}

/* ---- verify_sandbox --------------------------------------------------------------- */

/* The agent left its sandbox so that it cannot be verified: that is a
 * result, reward 0 (the caller records the class agent error). */
static void score_zero(struct rollout *r)
{
    r->rec.has_reward = 1;
    r->rec.reward = 0.0;
    r->rec.reward_source = "agent_failure";
}

/* Copy the agent's final workdir into the fresh sandbox `fresh`, the one
 * sandbox's archive streamed into the other.  A workdir that cannot be
 * copied (a FIFO, a device: refused by the archive checks) is the agent's
 * doing: class agent, reward 0. */
static int copy_workdir(struct rollout *r, corral_sandbox *fresh)
{
    enum crl_copy_fault fault;
    int st = crl_sandbox_copy_tree(r->agent_sb, r->plan.workdir, fresh, r->plan.workdir, &fault, r->call);
    if (!st)
        return 0;
    if (fault == CRL_COPY_REFUSED) {
        score_zero(r);
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_AGENT, st, "the agent's workdir cannot be copied: %s",
                                r->call->message);
    }
    return crl_rollout_fail(r, INFRA, st, fault == CRL_COPY_READ ? "copying the agent's workdir: %s"
                                                                  : "copying the agent's workdir in: %s",
                            r->call->message);
}

/* Empty the verifier's workdir (what the image or the setup put there
 * gives way to the agent's), after `mkdir -p` of the NULL-terminated mk
 * when given: one command either way.  0 or the failure recorded. */
static int clear_workdir(struct rollout *r, const char *const *mk)
{
    const char *argv[16] = {"find", r->plan.workdir, "-mindepth", "1", "-delete", NULL};
    if (mk) {
        static const char script[] = "mkdir -p -- \"$@\" && exec find \"$1\" -mindepth 1 -delete";
        size_t n = 0;
        argv[n++] = "sh";
        argv[n++] = "-c";
        argv[n++] = script;
        argv[n++] = "sh";
        for (; *mk && n + 1 < CRL_ARRAY_LEN(argv); mk++)
            argv[n++] = *mk;
        argv[n] = NULL;
    }
    int code = 0;
    int st = crl_rollout_exec(r, argv, NULL, "/", NULL, HOUSEKEEPING_TIMEOUT_S, NULL, &code);
    if (st || code)
        return crl_rollout_fail(r, INFRA, st ? st : CORRAL_EIO, "clearing the verifier's workdir %s: %s",
                                r->plan.workdir, st ? r->call->message : mk ? "mkdir -p or find failed" : "find failed");
    return 0;
}

/* Verification's own sandbox (unless the plan says same): the agent's
 * image, backend and resources, the task's setup run again, then the
 * agent's final workdir in place of the setup's; nothing else of the
 * agent's sandbox (its processes, binaries, /tests, /logs) comes along.
 * From here r->sb is the verifier's; the agent's is kept in r->agent_sb
 * until destroy. */
int crl_phase_verify_sandbox(struct rollout *r)
{
    if (r->plan.verify_sandbox != CORRAL_VERIFY_FRESH || (!r->task->has_tests && !r->task->verify))
        return 0;
    corral_sandbox *fresh = NULL;
    struct corral_mount mounts[2];
    size_t n_mounts = 0;
    char forwarder[PATH_MAX];
    int st = crl_egress_mounts(r, mounts, &n_mounts, forwarder, sizeof forwarder, 0);
    if (!st)
        st = new_sandbox(r, n_mounts ? mounts : NULL, n_mounts, &fresh);
    if (st)
        return st;
    crl_record_set(&r->rec.verify_sandbox_id, corral_sandbox_id(fresh));
    crl_rollout_progress(r, "verifier sandbox %s created", corral_sandbox_id(fresh));
    r->agent_sb = r->sb;
    r->sb = fresh; /* the commands below run in it; destroy releases both */
    const char *dirs[] = {r->plan.workdir, r->proxy ? r->run : NULL, NULL}; /* run: the egress relay's files */
    if (!r->task->setup) { /* nothing runs between making the workdir and emptying it: one command */
        st = clear_workdir(r, dirs);
        return st ? st : copy_workdir(r, r->sb);
    }
    if ((st = mkdirs(r, dirs)) != 0)
        return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
    struct crl_strv env = {0};
    st = r->task->setup ? crl_egress_enter(r, CRL_EGRESS_SETUP, &env) : 0;
    for (char **c = r->task->setup; !st && c && *c; c++) {
        int code = 0;
        st = crl_rollout_exec(r, NULL, *c, r->plan.workdir, crl_strv_get(&env), r->plan.setup_s, NULL, &code);
        if (st)
            st = crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        else if (code)
            st = crl_rollout_fail(r, TASK, CORRAL_EINVAL,
                                  "setup command in the verifier's sandbox exited with %d: %s", code, *c);
    }
    crl_egress_leave(r);
    crl_strv_free(&env);
    if (st)
        return st;
    /* The setup's workdir gives way to the agent's, as the agent left it. */
    if ((st = clear_workdir(r, NULL)) != 0)
        return st;
    return copy_workdir(r, r->sb);
}

/* ---- verify ----------------------------------------------------------------------- */

/* Harbor's REWARD_DIR/reward.json (task.toml tasks): an object of named
 * numeric metrics, all kept in the result's "rewards"; the reward is the
 * one named "reward", or the only one.  1 when read, 0 when absent, or the
 * failure status. */
/* A reward file that could not be read: absent (CORRAL_ENOTFOUND, the
 * only failure that lets scoring go on to the next source) or a failure
 * that ends the rollout without a reward: class task when the backend
 * calls the file itself bad (CORRAL_EINVAL, CORRAL_EPERM), else
 * infrastructure (a 503 that outlasted the retries; a file too large is
 * CORRAL_EIO on some backends).  Never a silent fall back to the exit
 * status, which would score a test that wrote 0 as passed. */
static int reward_unreadable(struct rollout *r, const char *path, int st, const struct corral_call *read_call)
{
    if (st == CORRAL_EINVAL || st == CORRAL_EPERM)
        return crl_rollout_fail(r, TASK, st, "%s: %s", path, read_call->message);
    return crl_rollout_fail(r, INFRA, st, "reading %s: %s", path, read_call->message);
}

static int read_reward_json(struct rollout *r, int *found)
{
    char *data = NULL;
    size_t len = 0;
    struct corral_call read_call;
    corral_call_init(&read_call, 30000);
    *found = 0;
    int st = corral_sandbox_read_mem(r->sb, REWARD_DIR "/reward.json", 65536, &data, &len, &read_call);
    if (st == CORRAL_ENOTFOUND)
        return 0;
    if (st)
        return reward_unreadable(r, REWARD_DIR "/reward.json", st, &read_call);
    *found = 1;
    cJSON *j = cJSON_ParseWithLength(data, len);
    free(data);
    const cJSON *m, *pick = NULL;
    int n = 0, bad = !cJSON_IsObject(j);
    const cJSON *metrics = bad ? NULL : j;
    cJSON_ArrayForEach(m, metrics) {
        if (!cJSON_IsNumber(m) || crl_number_in(m->valuedouble, -1e300, 1e300) != 0)
            bad = 1;
        n++;
    }
    if (!bad && !(pick = cJSON_GetObjectItemCaseSensitive(j, "reward")) && n == 1)
        pick = j->child;
    if (bad || !pick) {
        cJSON_Delete(j);
        return crl_rollout_fail(r, TASK, CORRAL_EINVAL, REWARD_DIR "/reward.json: %s",
                                bad ? "must be a JSON object of named numbers"
                                    : "several metrics and none named \"reward\"");
    }
    r->rec.reward = pick->valuedouble;
    r->rec.reward_source = "reward.json";
    r->rec.rewards = j;
    return 0;
}

/* The reward from REWARD_DIR/reward.txt when the tests wrote one, else
 * from their exit statuses; a task.toml task reads reward.json first and
 * has no exit-status scoring: neither file is a task error, as in Harbor. */
static int read_reward(struct rollout *r, int all_ok)
{
    char *data = NULL;
    size_t len = 0;
    struct corral_call read_call;
    corral_call_init(&read_call, 30000);
    r->rec.reward = all_ok ? 1.0 : 0.0;
    r->rec.reward_source = "exit_status";
    if (r->task->harbor) {
        int found, jst = read_reward_json(r, &found);
        if (jst)
            return jst;
        if (found) {
            r->rec.has_reward = 1;
            crl_rollout_progress(r, "reward %g (from %s)", r->rec.reward, r->rec.reward_source);
            return 0;
        }
    }
    int st = corral_sandbox_read_mem(r->sb, REWARD_DIR "/reward.txt", 4096, &data, &len, &read_call);
    if (st && st != CORRAL_ENOTFOUND)
        return reward_unreadable(r, REWARD_DIR "/reward.txt", st, &read_call);
    if (st == 0) {
        char *end = NULL;
        double v = crl_strtod_c(data, &end); /* "0.5" whatever the caller's LC_NUMERIC */
        int ok = end != data && isfinite(v);
        while (end && (*end == '\n' || *end == ' ' || *end == '\r' || *end == '\t'))
            end++;
        ok = ok && end && *end == '\0';
        free(data);
        if (!ok)
            return crl_rollout_fail(r, TASK, CORRAL_EINVAL, REWARD_DIR "/reward.txt is not a number");
        r->rec.reward = v;
        r->rec.reward_source = "reward.txt";
    }
    else if (r->task->harbor)
        return crl_rollout_fail(r, TASK, CORRAL_EINVAL, "the tests wrote neither " REWARD_DIR "/reward.json nor "
                                REWARD_DIR "/reward.txt");
    r->rec.has_reward = 1;
    crl_rollout_progress(r, "reward %g (from %s)", r->rec.reward, r->rec.reward_source);
    return 0;
}

/* The verifier's directories, recreated empty by corral before anything
 * of the task's is copied in: whatever the agent planted there (a test
 * file, a conftest, a reward) is gone.  Also makes `home`, a directory
 * the agent could not have prepared (its name is random).  A sandbox
 * call that fails is infrastructure; commands that ran and failed did so
 * because of the state the agent left the sandbox in, which is the
 * agent's failure: reward 0, class agent (never a way out of scoring). */
static int reset_verifier(struct rollout *r, const char *home)
{
    char script[512];
    snprintf(script, sizeof script,
             "rm -rf " TESTS_DIR " " REWARD_DIR " && mkdir -p " TESTS_DIR " " REWARD_DIR " && mkdir -m 700 %s",
             home);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    int code = 0;
    int st = crl_rollout_exec(r, argv, NULL, "/", NULL, HOUSEKEEPING_TIMEOUT_S, NULL, &code);
    if (st)
        return crl_rollout_fail(r, INFRA, st, "cannot reset %s and %s: %s", TESTS_DIR, REWARD_DIR, r->call->message);
    if (code) {
        score_zero(r);
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_AGENT, CORRAL_EIO,
                                "the sandbox as the agent left it does not let %s and %s be recreated (exit %d)",
                                TESTS_DIR, REWARD_DIR, code);
    }
    return 0;
}

/* Nothing the agent started may run with the verifier (a setsid child
 * rewriting the reward): every process in the sandbox but its own init
 * is killed, always.  Backends that cannot do it safely say
 * CORRAL_ENOTSUP; there verification goes on (see docs/rollout.md). */
static int quiesce(struct rollout *r)
{
    int st = corral_sandbox_quiesce(r->sb, r->call);
    if (st == CORRAL_ENOTSUP) {
        corral_log(CORRAL_LOG_DEBUG, "run", "%s", r->call->message);
        return 0;
    }
    return st ? crl_rollout_fail(r, INFRA, st, "stopping what the agent left running: %s", r->call->message) : 0;
}

static int verify_commands(struct rollout *r, const char *const *env, const char *home);

int crl_phase_verify(struct rollout *r)
{
    struct corral_task *t = r->task;
    if (!t->has_tests && !t->verify)
        return 0;
    int st = quiesce(r);
    if (st)
        return st;
    /* The verifier's environment: the sandbox's own (the image's and what
     * the task declares) with HOME in a fresh directory and PATH of system
     * directories only, never the agent's workdir or additions. */
    char rnd[17], home[64], home_env[80];
    if (crl_random_hex(rnd, 8) != 0)
        return crl_rollout_fail(r, INFRA, CORRAL_EIO, "no random source for the verifier's HOME");
    snprintf(home, sizeof home, "/tmp/corral-verifier-%s", rnd);
    snprintf(home_env, sizeof home_env, "HOME=%s", home);
    st = reset_verifier(r, home);
    if (st)
        return st;
    struct crl_strv env = {0};
    int oom = crl_strv_push(&env, home_env) || crl_strv_push(&env, VERIFIER_PATH);
    for (char **e = t->verifier_env; e && *e && !oom; e++)
        oom = crl_strv_push(&env, *e); /* [verifier] env: for the tests only, never the agent */
    st = oom ? crl_rollout_fail(r, INFRA, CORRAL_ENOMEM, "out of memory") : crl_egress_enter(r, CRL_EGRESS_VERIFY, &env);
    if (!st)
        st = verify_commands(r, crl_strv_get(&env), home);
    crl_egress_leave(r);
    crl_strv_free(&env);
    return st;
}

/* The tests and the verify commands with env (as the task's [verifier]
 * user, who gets /tests, the reward directory and `home`), and the reward. */
static int verify_commands(struct rollout *r, const char *const *env, const char *home)
{
    struct corral_task *t = r->task;
    int st, all_ok = 1, code = 0;
    if (t->has_tests) {
        st = hydrate_task_dir(r, "tests", TESTS_DIR);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "uploading tests/: %s", r->call->message);
        /* Harbor keeps test.sh's output (stdout and stderr as one stream)
         * in REWARD_DIR/test-stdout.txt too; task.json tasks keep two. */
        const char *plain[] = {"/bin/bash", TESTS_DIR "/test.sh", NULL};
        const char *harbor[] = {"/bin/bash", "-c",
                                "/bin/bash " TESTS_DIR "/test.sh 2>&1 | tee " REWARD_DIR "/test-stdout.txt; "
                                "exit \"${PIPESTATUS[0]}\"",
                                NULL};
        const char *mine[] = {TESTS_DIR, REWARD_DIR, home, NULL};
        if (t->verifier_user && (st = crl_rollout_give(r, t->verifier_user, mine, "verifier")) != 0)
            return st;
        st = crl_rollout_exec_as(r, t->verifier_user, t->harbor ? harbor : plain, NULL, r->plan.workdir, env,
                                 r->plan.verify_s, &r->rec.verify, &code);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        all_ok &= code == 0;
    }
    for (char **c = t->verify; c && *c; c++) {
        st = crl_rollout_exec_as(r, t->verifier_user, NULL, *c, r->plan.workdir, env, r->plan.verify_s,
                                 &r->rec.verify, &code);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        all_ok &= code == 0;
    }
    return read_reward(r, all_ok);
}

/* ---- destroy ---------------------------------------------------------------------- */

static int destroy_op(void *sb, struct corral_call *c)
{
    return corral_sandbox_destroy(sb, c);
}

/* Between two destroys: say why, and clear the failure for the next try. */
static void destroy_wait(void *sb, struct corral_call *c, int64_t wait_ms)
{
    corral_log(CORRAL_LOG_INFO, "run", "destroying sandbox %s: %s; trying again in %lld ms", corral_sandbox_id(sb),
               c->message, (long long)wait_ms);
    c->status = 0;
    c->message[0] = '\0';
}

/* Destroys `sb` within the call `c`, again while the failure is transient
 * (crl_retry_transient_with): a service refusing for a moment (503, a
 * dropped answer) after the backend's own request retries must not leave
 * the sandbox running until its TTL.  Destroy is idempotent in every
 * backend (an already-gone sandbox is success).  The caller keeps `sb`
 * and closes it; `c` is not cancellable (cleanup must happen). */
static int destroy_sandbox(corral_sandbox *sb, struct corral_call *c)
{
    static const struct crl_retry_clock clk = {.cancelled = corral_call_cancelled,
                                               .remaining_ms = corral_call_remaining_ms,
                                               .before_wait = destroy_wait};
    return crl_retry_transient_with(&clk, destroy_op, sb, c);
}

/* Runs on every path: the sandbox (unless kept), the gate registration
 * (its transcript goes into the record) and the private gate. */
int crl_phase_destroy(struct rollout *r)
{
    crl_egress_finish(r); /* before the sandboxes go: its relay is killed in one */
    struct corral_call c;
    corral_call_init(&c, 120000); /* not cancellable: cleanup must happen */
    corral_sandbox *sbs[] = {r->agent_sb, r->sb};
    for (size_t i = 0; i < CRL_ARRAY_LEN(sbs); i++) {
        if (sbs[i] && !r->o->keep_sandbox) {
            if (destroy_sandbox(sbs[i], &c) != 0)
                corral_log(CORRAL_LOG_ERROR, "run", "could not destroy sandbox %s: %s (`corral gc` will)",
                           corral_sandbox_id(sbs[i]), c.message);
            else
                crl_rollout_progress(r, "sandbox %s destroyed", corral_sandbox_id(sbs[i]));
        }
        corral_sandbox_close(sbs[i]);
    }
    r->sb = r->agent_sb = NULL;
    if (r->registered) {
        char *tr = NULL;
        if (corral_gate_unregister(r->gate, r->rec.id, &tr, &c) == 0 && tr) {
            free(r->rec.transcript);
            r->rec.transcript = tr;
            tr = NULL;
        }
        free(tr);
        r->registered = 0;
    }
    crl_private_gate_stop(&r->own_gate);
    r->gate = NULL;
    return 0;
}
