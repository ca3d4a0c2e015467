/*
 * The rollout's "agent" phase: install the agent inside the sandbox when
 * the backend cannot mount the host's copy, start the gate relay, check
 * the agent's requirements, write its files and the instruction, run it
 * with the plan's deadline (killing its process group at the deadline or
 * on cancel), map its stdout to events and judge it.  An agent that fails
 * or times out is a result (class "agent"), not the end of the lifecycle:
 * verification still runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/limits.h"
#include "rollout/agent_install.h"
#include "rollout/rollout_internal.h"

#define GATE_SOCKET_IN_SANDBOX "/run/corral-gate/gate.sock"
#define AGENT_STDOUT_MAX ((size_t)256 << 20)
#define INSTALL_ATTEMPTS 3

#define INFRA CORRAL_ROLLOUT_ERR_INFRA

/* Environment of the agent process: task env is the sandbox default; this
 * adds HOME/XDG dirs, PATH, the spec's env and, with model_key, the model
 * key (the install step runs without it). */
static int agent_env(struct rollout *r, const struct crl_agent_vars *v, int model_key, struct crl_strv *env)
{
    crl_strv_pushf(env, "HOME=%s", r->home);
    crl_strv_pushf(env, "XDG_CONFIG_HOME=%s/.config", r->home);
    crl_strv_pushf(env, "XDG_DATA_HOME=%s/.local/share", r->home);
    crl_strv_pushf(env, "XDG_STATE_HOME=%s/.local/state", r->home);
    crl_strv_pushf(env, "XDG_CACHE_HOME=%s/.cache", r->home);
    crl_strv_pushf(env, "TMPDIR=/tmp");
    crl_strv_pushf(env, "PATH=%s/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   r->agent_mount);
    crl_strv_pushf(env, "CORRAL_ROLLOUT_ID=%s", r->rec.id);
    const cJSON *e;
    char why[256];
    cJSON_ArrayForEach(e, r->spec.env) {
        char *val = crl_agent_subst(e->valuestring, v, why, sizeof why);
        if (!val)
            return crl_rollout_fail(r, INFRA, CORRAL_EINVAL, "env %s: %s", e->string, why);
        crl_strv_pushf(env, "%s=%s", e->string, val);
        free(val);
    }
    /* [solution] env goes to agents that run the task's solution/ (the
     * oracle), as Harbor gives it to its oracle only. */
    const cJSON *tf;
    cJSON_ArrayForEach(tf, r->spec.task_files) {
        if (strcmp(tf->valuestring, "solution") == 0)
            for (char **s = r->task->solution_env; s && *s; s++)
                crl_strv_push(env, *s);
    }
    if (model_key && r->spec.uses_model && r->spec.model_key_env)
        crl_strv_pushf(env, "%s=%s", r->spec.model_key_env, r->token); /* env, never argv */
    return 0;
}

/* The spec's files, with the MCP servers merged in (crl_agent_files),
 * written into the sandbox (0600: they may hold the model key). */
static int write_agent_files(struct rollout *r, const struct crl_agent_vars *v, const cJSON *servers)
{
    struct crl_strv paths = {0}, bodies = {0};
    char why[256];
    int st = 0;
    if (crl_agent_files(&r->spec, v, servers, &paths, &bodies, why, sizeof why))
        st = crl_rollout_fail(r, INFRA, CORRAL_EINVAL, "agent file: %s", why);
    for (size_t i = 0; !st && i < paths.n; i++) {
        st = corral_sandbox_write_mem(r->sb, paths.v[i], bodies.v[i], strlen(bodies.v[i]), 0600, r->call);
        if (st)
            crl_rollout_fail(r, INFRA, st, "writing %s: %s", paths.v[i], r->call->message);
    }
    crl_strv_free(&paths);
    crl_strv_free(&bodies);
    return st;
}

/* install.requires (commands on PATH) and install.check (an argv that must
 * exit 0), run with the agent's environment. */
static int check_requirements(struct rollout *r, const struct crl_agent_vars *v, const char *const *env)
{
    if (r->spec.requires) {
        static const char probe[] =
            "for c in \"$@\"; do command -v \"$c\" >/dev/null 2>&1 || { echo \"$c\"; exit 1; }; done";
        const char *argv[4 + CRL_AGENT_MAX_REQUIRES + 1] = {"/bin/sh", "-c", probe, "sh"};
        size_t n = 4;
        const cJSON *c;
        cJSON_ArrayForEach(c, r->spec.requires) argv[n++] = c->valuestring; /* bounded by the spec parser */
        argv[n] = NULL;
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .env = env, .timeout_ms = 30000};
        struct corral_exec_output out = {0};
        int st = corral_sandbox_run(r->sb, &req, &out, r->call);
        int code = out.res.exit_code;
        char missing[128];
        snprintf(missing, sizeof missing, "%s", out.out.data ? out.out.data : "?");
        missing[strcspn(missing, "\n")] = '\0';
        corral_exec_output_free(&out);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        if (code != 0)
            return crl_rollout_fail(r, INFRA, CORRAL_ENOTFOUND,
                                    "agent %s needs '%s' on PATH inside the sandbox (on Debian hosts: apt-get "
                                    "install %s)",
                                    r->spec.name, missing, strcmp(missing, "rg") == 0 ? "ripgrep" : missing);
    }
    if (r->spec.check) {
        struct crl_strv argv = {0};
        const cJSON *a;
        char why[256];
        cJSON_ArrayForEach(a, r->spec.check) {
            char *s = crl_agent_subst(a->valuestring, v, why, sizeof why);
            crl_strv_push(&argv, s ? s : "");
            free(s);
        }
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = crl_strv_get(&argv), .env = env,
                                          .cwd = r->home, .timeout_ms = 60000};
        struct corral_exec_output out = {0};
        int st = corral_sandbox_run(r->sb, &req, &out, r->call);
        int code = out.res.exit_code;
        const char *img = r->plan.image;
        if (!st && code != 0 && img && strcmp(img, "host") != 0)
            /* the install is the same everywhere: what failed is the image */
            st = crl_rollout_fail(r, INFRA, CORRAL_ENOTSUP,
                                  "image %s cannot host agent %s: its install check failed there (exit %d): %s "
                                  "(the agent's binaries need what the image lacks, e.g. glibc for a Node-based "
                                  "agent; docs/images.md)",
                                  img, r->spec.name, code, crl_capture_tail(&out.err));
        else if (!st && code != 0)
            st = crl_rollout_fail(r, INFRA, CORRAL_EIO, "agent %s install check failed (exit %d): %s", r->spec.name,
                                  code, crl_capture_tail(&out.err));
        else if (st)
            crl_rollout_fail(r, INFRA, st, "%s", r->call->message);
        corral_exec_output_free(&out);
        crl_strv_free(&argv);
        return st;
    }
    return 0;
}

/* The install command (argv, or a shell string in *shell) and its working
 * directory.  npm runs in the agent dir, which gets its package.json here.
 * Caller frees argv and *shell. */
static int install_command(struct rollout *r, const struct crl_agent_vars *v, struct crl_strv *argv, char **shell,
                           const char **cwd)
{
    char why[256];
    *shell = NULL;
    *cwd = "/";
    if (r->spec.install_script) {
        *shell = crl_agent_subst(r->spec.install_script, v, why, sizeof why);
        return *shell ? 0 : crl_rollout_fail(r, INFRA, CORRAL_EINVAL, "install.script: %s", why);
    }
    int st = crl_agent_npm_argv(&r->spec, argv, why, sizeof why);
    if (st)
        return crl_rollout_fail(r, INFRA, st, "%s", st == CORRAL_ENOMEM ? "out of memory" : why);
    char pkg[PATH_MAX + 16];
    snprintf(pkg, sizeof pkg, "%s/package.json", v->agent_dir);
    st = corral_sandbox_write_mem(r->sb, pkg, CRL_AGENT_PACKAGE_JSON, strlen(CRL_AGENT_PACKAGE_JSON), 0644, r->call);
    if (st)
        return crl_rollout_fail(r, INFRA, st, "writing %s: %s", pkg, r->call->message);
    *cwd = v->agent_dir;
    return 0;
}

/* Install the agent inside the sandbox (backends without host mounts):
 * the spec's install.script, else npm with its pinned packages; retried
 * with backoff, since installs fail mostly for transient reasons.  Its
 * environment: the agent's without the model key, plus install_env. */
static int install_in_sandbox(struct rollout *r, const struct crl_agent_vars *v)
{
    if (r->agent_dir[0] || (!r->spec.npm && !r->spec.install_script))
        return 0;
    struct crl_strv env = {0}, argv = {0};
    char *shell = NULL, why[256];
    const char *cwd = "/";
    const char *const *extra = CORRAL_HAS_FIELD(r->o, install_env) ? r->o->install_env : NULL;
    int st = agent_env(r, v, 0, &env);
    if (!st && (st = crl_install_env_add(r->ctx, extra, r->o->api_key_env, &env, why, sizeof why)) != 0)
        crl_rollout_fail(r, INFRA, st, "install_env: %s", why);
    if (!st)
        st = install_command(r, v, &argv, &shell, &cwd);
    if (!st)
        crl_rollout_progress(r, "installing %s inside the sandbox", r->spec.name);
    int code = 0;
    for (int attempt = 1; !st && attempt <= INSTALL_ATTEMPTS; attempt++) {
        struct crl_command_log log = {0};
        st = crl_rollout_exec(r, crl_strv_get(&argv), shell, cwd, crl_strv_get(&env), r->plan.install_s, &log, &code);
        char tail[600] = "";
        if (log.n)
            snprintf(tail, sizeof tail, "%s", log.items[0].err_tail ? log.items[0].err_tail : "");
        crl_command_log_free(&log);
        if ((!st && code == 0) || (st && !corral_status_is_transient(st)))
            break;
        crl_rollout_progress(r, "attempt %d of %d failed (%s)", attempt, INSTALL_ATTEMPTS,
                             st ? r->call->message : tail);
        if (attempt < INSTALL_ATTEMPTS) {
            sleep((unsigned)(2 << attempt));
            st = 0;
        }
    }
    crl_strv_free(&env);
    crl_strv_free(&argv);
    free(shell);
    if (r->rec.error_class != CORRAL_ROLLOUT_OK)
        return st;
    if (st)
        return crl_rollout_fail(r, INFRA, st, "installing %s: %s", r->spec.name, r->call->message);
    if (code)
        return crl_rollout_fail(r, INFRA, CORRAL_EIO, "installing %s inside the sandbox failed (exit %d)",
                                r->spec.name, code);
    return 0;
}

static int relay_cancelled(void *ud)
{
    return crl_rollout_cancelled(ud);
}

int crl_relay_start(corral_sandbox *sb, const char *sock, const char *port_file, const char *log,
                    int (*cancelled)(void *), void *ud, corral_sandbox_job **job, int *port, struct corral_call *call)
{
    const char *argv[] = {CRL_FORWARD_IN_SANDBOX, port_file, sock, NULL};
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .cwd = "/", .err_path = log};
    int st = corral_sandbox_spawn(sb, &req, job, call);
    if (st)
        return st;
    for (int i = 0; i < 200 && !(cancelled && cancelled(ud)); i++) {
        char *data = NULL;
        size_t len = 0;
        struct corral_call c;
        corral_call_init(&c, 5000);
        if (corral_sandbox_read_mem(sb, port_file, 64, &data, &len, &c) == 0) {
            *port = atoi(data);
            free(data);
            if (*port > 0)
                return 0;
        }
        usleep(25000);
    }
    if (cancelled && cancelled(ud))
        return corral_call_fail(call, CORRAL_ECANCELED, "cancelled");
    return corral_call_fail(call, CORRAL_ETIMEDOUT, "the relay did not start (see %s in the sandbox)", log);
}

int crl_rollout_relay(struct rollout *r, const char *sock, const char *tag, corral_sandbox_job **job, int *port)
{
    char port_file[192];
    snprintf(port_file, sizeof port_file, "%s/%s.port", r->run, tag);
    char log[192];
    snprintf(log, sizeof log, "%s/%s-forward.log", r->run, tag);
    int st = crl_relay_start(r->sb, sock, port_file, log, relay_cancelled, r, job, port, r->call);
    if (!st)
        return 0;
    if (st == CORRAL_ECANCELED)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_CANCELLED, CORRAL_ECANCELED, "cancelled");
    if (st == CORRAL_ETIMEDOUT)
        return crl_rollout_fail(r, INFRA, CORRAL_ETIMEDOUT, "the %s relay did not start (see %s)", tag, log);
    return crl_rollout_fail(r, INFRA, st, "starting the %s relay: %s", tag, r->call->message);
}

void crl_rollout_relay_stop(corral_sandbox *sb, corral_sandbox_job *job)
{
    if (!job)
        return;
    struct corral_call c;
    corral_call_init(&c, 10000);
    corral_sandbox_job_kill(sb, job, &c);
    /* Reaped before it is freed: a killed job left a zombie that a later
     * quiesce (verification in this sandbox) kept finding. */
    struct corral_exec_result res = {.struct_size = sizeof res};
    corral_sandbox_job_wait(sb, job, 5000, &res, &c);
    corral_sandbox_job_free(sb, job);
}

/* The gate relay inside the sandbox (backends with host mounts and no
 * gate URL). */
static int start_forwarder(struct rollout *r, corral_sandbox_job **job)
{
    int port = 0;
    int st = crl_rollout_relay(r, GATE_SOCKET_IN_SANDBOX, "gate", job, &port);
    if (!st)
        snprintf(r->base_url, sizeof r->base_url, "http://127.0.0.1:%d/rollout/%s/v1", port, r->rec.id);
    return st;
}

/* The agent's stdout, one event per line that maps to one (the plugin's
 * parse_event, else the spec's rules), numbered by "seq".  The agent
 * writes its stdout, so what is kept is bounded by the operator's
 * "limits": the first events-1 events, and then always the latest one as
 * the last (so a spec's "last" rule still judges the run's end), within
 * the transcript's bytes; the events not kept are counted in
 * rec.events_truncated. */
static void parse_events(struct rollout *r, const char *out, size_t len)
{
    const struct corral_agent_ops *ops = r->agent->desc->ops;
    int seq = 0;
    struct crl_limits lim;
    crl_limits_get(r->ctx, &lim);
    size_t max_events = lim.events ? (size_t)lim.events : CRL_DEFAULT_MAX_EVENTS;
    size_t max_bytes = lim.transcript_bytes ? (size_t)lim.transcript_bytes : CRL_DEFAULT_EVENTS_BYTES;
    size_t kept = 0, n_kept = 0, tail_n = 0;
    int tail = 0; /* the array's last item is the latest event past the limit */
    for (const char *p = out; p < out + len;) {
        const char *nl = memchr(p, '\n', (size_t)(out + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(out + len - p);
        const char *line = p;
        p += n + 1;
        int at_limit = n_kept + 1 >= max_events;
        if ((tail ? kept - tail_n : kept) + n > max_bytes) {
            r->rec.events_truncated += n > 0; /* too big to keep: not even parsed */
            continue;
        }
        cJSON *ev = NULL;
        if (CORRAL_HAS(ops, parse_event)) {
            char *text = NULL;
            struct corral_call c;
            corral_call_init(&c, 0);
            if (ops->parse_event(r->agent->state, line, n, &text, &c) == 0 && text)
                ev = cJSON_Parse(text);
            free(text);
        } else {
            ev = crl_agent_event(&r->spec, line, n);
        }
        if (!ev)
            continue;
        cJSON_AddNumberToObject(ev, "seq", seq++);
        if (tail) { /* replace the previous latest */
            cJSON_ReplaceItemInArray(r->rec.events, cJSON_GetArraySize(r->rec.events) - 1, ev);
            r->rec.events_truncated++;
            kept -= tail_n;
        } else {
            cJSON_AddItemToArray(r->rec.events, ev);
            n_kept++;
            tail = at_limit;
        }
        kept += n;
        tail_n = n;
    }
}

/* The agent's argv: the spec's templates, behind a shell that feeds the
 * instruction file on stdin when the spec says "prompt": "stdin" (never
 * one giant argv item). */
static int agent_argv(struct rollout *r, const struct crl_agent_vars *v, const cJSON *servers, struct crl_strv *argv)
{
    if (strcmp(r->spec.prompt, "stdin") == 0) {
        char prompt[192];
        snprintf(prompt, sizeof prompt, "%s/instruction.md", r->run);
        int st = corral_sandbox_write_mem(r->sb, prompt, r->task->instruction, r->task->instruction_len, 0644,
                                          r->call);
        if (st)
            return crl_rollout_fail(r, INFRA, st, "writing the instruction: %s", r->call->message);
        crl_strv_push(argv, "/bin/sh");
        crl_strv_push(argv, "-c");
        crl_strv_push(argv, "exec \"$@\" < \"$0\"");
        crl_strv_push(argv, prompt);
    }
    const cJSON *a;
    char why[256];
    cJSON_ArrayForEach(a, r->spec.argv) {
        char *s = crl_agent_subst(a->valuestring, v, why, sizeof why);
        crl_strv_push(argv, s ? s : "");
        free(s);
    }
    if (cJSON_GetArraySize(servers) > 0) /* the spec's "mcp" argv, only when there are servers */
        cJSON_ArrayForEach(a, r->spec.mcp_argv) {
            char *s = crl_agent_subst(a->valuestring, v, why, sizeof why);
            crl_strv_push(argv, s ? s : "");
            free(s);
        }
    return 0;
}

/* Wait for the agent until it exits, the plan's deadline passes (then it
 * is killed and reads exit 124) or the rollout is cancelled. */
static int wait_agent(struct rollout *r, corral_sandbox_job *job, struct corral_exec_result *res, int *timed_out)
{
    int st = 0;
    int64_t deadline = corral_now_ms() + r->plan.agent_s * 1000;
    for (;;) {
        int64_t left = deadline - corral_now_ms();
        if (left <= 0) {
            *timed_out = 1;
            break;
        }
        if (crl_rollout_cancelled(r))
            break;
        st = corral_sandbox_job_wait(r->sb, job, left < 500 ? left : 500, res, r->call);
        if (st == 0)
            crl_rollout_note_exit(r, res->exit_code);
        if (st != CORRAL_ETIMEDOUT)
            break;
        st = 0;
    }
    if (*timed_out || crl_rollout_cancelled(r)) {
        struct corral_call kill_call;
        corral_call_init(&kill_call, 30000);
        corral_sandbox_job_kill(r->sb, job, &kill_call);
        corral_sandbox_job_wait(r->sb, job, 10000, res, &kill_call);
        res->exit_code = *timed_out ? 124 : res->exit_code;
        return *timed_out ? 0 : crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_CANCELLED, CORRAL_ECANCELED, "cancelled");
    }
    if (st)
        crl_rollout_fail(r, INFRA, st, "waiting for the agent: %s", r->call->message);
    return st;
}

/* What the agent left: its events, stderr tail and exit, and the judgement. */
static void judge_agent(struct rollout *r, const char *out_path, const char *err_path,
                        const struct corral_exec_result *res, int timed_out)
{
    char *out = NULL, *err = NULL;
    size_t olen = 0, elen = 0;
    struct corral_call read_call;
    corral_call_init(&read_call, 60000);
    corral_sandbox_read_mem(r->sb, out_path, AGENT_STDOUT_MAX, &out, &olen, &read_call);
    corral_sandbox_read_mem(r->sb, err_path, AGENT_STDOUT_MAX, &err, &elen, &read_call);
    parse_events(r, out ? out : "", olen);
    struct corral_capture tail = {.data = err, .len = elen};
    crl_record_set(&r->rec.agent_stderr_tail, crl_capture_tail(&tail));
    free(out);
    free(err);
    r->rec.agent_exit_code = res->exit_code;
    r->rec.agent_timed_out = timed_out;
    char why[256];
    r->rec.agent_status = "success";
    if (timed_out) {
        r->rec.agent_status = "timeout";
        crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_AGENT, CORRAL_ETIMEDOUT,
                         "the agent did not finish within %llds (killed)", (long long)r->plan.agent_s);
    } else if (!crl_agent_judge(&r->spec, res->exit_code, r->rec.events, why, sizeof why)) {
        r->rec.agent_status = "failed";
        crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_AGENT, CORRAL_EINVAL, "%s", why);
    }
    crl_rollout_progress(r, "%s: %s (exit %d, %d events)", r->spec.name, r->rec.agent_status, res->exit_code,
                         cJSON_GetArraySize(r->rec.events));
}

int crl_phase_agent(struct rollout *r)
{
    struct crl_agent_vars v = {.home = r->home, .workdir = r->plan.workdir, .run = r->run,
                               .agent_dir = r->agent_mount, .base_url = "", .model = r->plan.model_name,
                               .task = r->task_in};
    corral_sandbox_job *fwd = NULL, *job = NULL;
    struct crl_strv env = {0}, argv = {0};
    int st = 0;

    if (r->registered) {
        if (r->o->gate_url)
            snprintf(r->base_url, sizeof r->base_url, "%s/rollout/%s/v1", r->o->gate_url, r->rec.id);
        else
            st = start_forwarder(r, &fwd);
    }
    v.base_url = r->base_url;
    char gate_url[sizeof r->base_url];
    snprintf(gate_url, sizeof gate_url, "%s", r->base_url);
    size_t gl = strlen(gate_url);
    if (gl >= 3 && strcmp(gate_url + gl - 3, "/v1") == 0)
        gate_url[gl - 3] = 0;
    v.gate_url = gate_url;
    /* the gate's own MCP server when a trainer owns the model (--model
     * trainer, which --gate URL implies) */
    int trainer = r->registered && r->o->model && strcmp(r->o->model, "trainer") == 0;
    cJSON *servers = crl_agent_mcp_list(&r->spec, r->task->mcp_servers_json, trainer ? gate_url : NULL, r->token);
    if (!st)
        st = agent_env(r, &v, 1, &env);
    if (!st)
        st = crl_egress_enter(r, CRL_EGRESS_AGENT, &env);
    if (!st)
        st = install_in_sandbox(r, &v);
    if (!st)
        st = check_requirements(r, &v, crl_strv_get(&env));
    if (!st)
        st = write_agent_files(r, &v, servers);
    if (!st)
        st = agent_argv(r, &v, servers, &argv);
    char out_path[192], err_path[192];
    snprintf(out_path, sizeof out_path, "%s/agent.stdout", r->run);
    snprintf(err_path, sizeof err_path, "%s/agent.stderr", r->run);
    struct corral_exec_result res = {.struct_size = sizeof res};
    int timed_out = 0;
    const char *user = r->task->agent_user;
    if (!st && user) {
        const char *mine[] = {r->run, r->home, r->plan.workdir, "/logs/agent", "/logs/artifacts", NULL};
        st = crl_rollout_give(r, user, mine, "agent");
    }
    if (!st) {
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = crl_strv_get(&argv),
                                          .cwd = r->plan.workdir, .env = crl_strv_get(&env),
                                          .out_path = out_path, .err_path = err_path, .user = user};
        crl_rollout_progress(r, "starting %s (timeout %llds)", r->spec.name, (long long)r->plan.agent_s);
        st = corral_sandbox_spawn(r->sb, &req, &job, r->call);
        if (st)
            crl_rollout_fail(r, INFRA, st, "starting the agent: %s", r->call->message);
    }
    if (!st)
        st = wait_agent(r, job, &res, &timed_out);
    if (job)
        corral_sandbox_job_free(r->sb, job);
    crl_rollout_relay_stop(r->sb, fwd);
    crl_egress_leave(r);
    if (job && r->rec.error_class == CORRAL_ROLLOUT_OK)
        judge_agent(r, out_path, err_path, &res, timed_out);
    crl_strv_free(&env);
    crl_strv_free(&argv);
    cJSON_Delete(servers);
    return st;
}
