/*
 * One rollout, start to finish (see <corral/rollout.h>).  Every failure is
 * recorded with its phase and class, and the sandbox and the gate
 * registration are released on every path, also when cancelled.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rollout/agent_install.h"
#include "rollout/agent_spec.h"
#include "rollout/rollout_internal.h"
#include "base/internal.h"
#include <corral/rollout.h>
#include <corral/sandbox_host.h>

#define AGENT_MOUNT_ROOT "/opt/corral/agents"
#define FORWARD_IN_SANDBOX "/opt/corral/bin/corral-forward"
#define GATE_SOCKET_IN_SANDBOX "/run/corral-gate/gate.sock"
#define REWARD_DIR "/logs/verifier"
#define OUTPUT_KEEP 4096              /* stdout/stderr bytes kept per command in the result */
#define AGENT_STDOUT_MAX ((size_t)256 << 20)

struct rollout {
    corral_ctx *ctx;
    const struct corral_rollout_options *o;
    struct corral_call *call;
    struct corral_task *task;
    struct crl_agent_spec spec;
    const struct corral_plugin_record *agent;
    corral_gate *gate;
    int registered;
    char id[64], token[65];
    struct crl_private_gate own_gate; /* when the options name no gate */
    char gate_socket[PATH_MAX + 16];  /* the gate's socket on the host, "" if none */
    char agent_dir[PATH_MAX];         /* host install dir of the agent, "" if none */
    char run[128], home[160], task_in[160], agent_mount[PATH_MAX];
    char base_url[512];
    corral_sandbox *sb;
    cJSON *result, *timings, *setup, *verify, *events;
    int failed;                       /* an error was recorded */
    int infra_status;                 /* status of an infrastructure failure, 0 if none */
    int64_t t0, phase_t0;
};

/* ---- Result bookkeeping ---------------------------------------------------- */

static void progress(struct rollout *r, const char *phase, const char *fmt, ...) CORRAL_PRINTF(3, 4);
static void progress(struct rollout *r, const char *phase, const char *fmt, ...)
{
    if (!r->o->progress)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->o->progress(r->o->progress_ud, phase, msg);
}

static int cancelled(struct rollout *r)
{
    return crl_flag_set(r->o->cancel) || corral_call_cancelled(r->call);
}

/* Record the rollout's error (the first one wins) and return status.  A
 * step that failed because the rollout was cancelled reads "cancelled",
 * whichever operation was under way (the phase says where): the request
 * or command it interrupted is not what went wrong. */
static int fail(struct rollout *r, int status, const char *cls, const char *phase, const char *fmt, ...)
    CORRAL_PRINTF(5, 6);
static int fail(struct rollout *r, int status, const char *cls, const char *phase, const char *fmt, ...)
{
    if (r->failed)
        return status;
    r->failed = 1;
    if (strcmp(cls, "infrastructure") == 0)
        r->infra_status = status ? status : CORRAL_EINTERNAL;
    char msg[2048];
    if (status == CORRAL_ECANCELED && cancelled(r)) {
        snprintf(msg, sizeof msg, "cancelled");
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "class", cls);
    cJSON_AddStringToObject(e, "phase", phase);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "status", corral_strerror(status));
    cJSON_ReplaceItemInObjectCaseSensitive(r->result, "error", e);
    progress(r, phase, "failed (%s): %s", cls, msg);
    return status;
}

static void phase_begin(struct rollout *r)
{
    r->phase_t0 = corral_now_ms();
}

static void phase_end(struct rollout *r, const char *phase)
{
    cJSON_AddNumberToObject(r->timings, phase, (double)(corral_now_ms() - r->phase_t0));
}

/* The last OUTPUT_KEEP bytes of a capture, as a JSON string. */
static cJSON *tail_json(const struct corral_capture *c)
{
    const char *d = c->data ? c->data : "";
    size_t from = c->len > OUTPUT_KEEP ? c->len - OUTPUT_KEEP : 0;
    return cJSON_CreateString(d + from);
}

/* ---- Sandbox helpers ----------------------------------------------------------- */

/* Run a command (argv, or a shell string when shell is set) and record it
 * in `into` (may be NULL).  *exit_code gets the command's status. */
static int run_cmd(struct rollout *r, const char *const *argv, const char *shell, const char *cwd,
                   const char *const *env, int64_t timeout_s, cJSON *into, int *exit_code)
{
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = shell ? NULL : argv, .shell = shell,
                                      .cwd = cwd, .env = env, .timeout_ms = timeout_s * 1000};
    struct corral_exec_output out = {0};
    int st = corral_sandbox_run(r->sb, &req, &out, r->call);
    if (st == 0) {
        *exit_code = out.res.exit_code;
        if (into) {
            cJSON *c = cJSON_CreateObject();
            if (shell)
                cJSON_AddStringToObject(c, "command", shell);
            else {
                cJSON *a = cJSON_AddArrayToObject(c, "argv");
                for (const char *const *p = argv; *p; p++)
                    cJSON_AddItemToArray(a, cJSON_CreateString(*p));
            }
            cJSON_AddNumberToObject(c, "exit_code", out.res.exit_code);
            cJSON_AddBoolToObject(c, "timed_out", out.res.timed_out);
            cJSON_AddNumberToObject(c, "duration_ms", (double)out.res.duration_ms);
            cJSON_AddItemToObject(c, "stdout", tail_json(&out.out));
            cJSON_AddItemToObject(c, "stderr", tail_json(&out.err));
            cJSON_AddItemToArray(into, c);
        }
    }
    corral_exec_output_free(&out);
    return st;
}

static int mkdirs(struct rollout *r, const char *const *dirs)
{
    const char *argv[16] = {"mkdir", "-p"};
    size_t n = 2;
    for (; *dirs && n + 1 < CRL_ARRAY_LEN(argv); dirs++)
        argv[n++] = *dirs;
    argv[n] = NULL;
    int code = 0;
    int st = run_cmd(r, argv, NULL, "/", NULL, 60, NULL, &code);
    if (st)
        return st;
    return code ? corral_call_fail(r->call, CORRAL_EIO, "mkdir -p %s failed with %d", argv[2], code) : 0;
}

/* ---- Phases ----------------------------------------------------------------------- */

static int responder_from_model(struct rollout *r, struct corral_gate_responder *resp)
{
    const char *m = r->o->model;
    *resp = (struct corral_gate_responder){.struct_size = sizeof *resp};
    if (!m)
        return fail(r, CORRAL_EINVAL, "infrastructure", "gate",
                    "agent %s calls a model: give --model replay:FILE, upstream:URL or trainer", r->spec.name);
    if (strncmp(m, "replay:", 7) == 0) {
        resp->kind = CORRAL_GATE_REPLAY;
        resp->replay_path = m + 7;
    } else if (strncmp(m, "upstream:", 9) == 0) {
        resp->kind = CORRAL_GATE_UPSTREAM;
        resp->upstream_url = m + 9;
        resp->upstream_api_key_env = r->o->api_key_env;
        resp->upstream_model = r->o->model_name;
    } else if (strcmp(m, "trainer") == 0) {
        resp->kind = CORRAL_GATE_TRAINER;
    } else {
        return fail(r, CORRAL_EINVAL, "infrastructure", "gate",
                    "model '%s' is not replay:FILE, upstream:URL or trainer", m);
    }
    return 0;
}

int crl_private_gate_start(const struct corral_rollout_options *o, unsigned threads, struct crl_private_gate *pg,
                           struct corral_call *call)
{
    struct corral_gate_options go = {.struct_size = sizeof go, .unix_socket_path = pg->socket,
                                     .model = o->model_name ? o->model_name : "corral", .threads = threads};
    char addr[64];
    if (o->gate_listen) {
        if (crl_parse_host_port(o->gate_listen, addr, sizeof addr, &go.port))
            return corral_call_fail(call, CORRAL_EINVAL, "gate listen address '%s' is not ADDR:PORT or [IPV6]:PORT",
                                    o->gate_listen);
        go.bind_address = addr;
    }
    snprintf(pg->dir, sizeof pg->dir, "/tmp/corral-gate-XXXXXX");
    if (!mkdtemp(pg->dir)) {
        pg->dir[0] = '\0';
        return corral_call_fail(call, CORRAL_EIO, "cannot create a temporary directory for the gate: %s",
                                strerror(errno));
    }
    chmod(pg->dir, 0711);
    snprintf(pg->socket, sizeof pg->socket, "%s/gate.sock", pg->dir);
    int st = corral_gate_new(&go, &pg->gate, call);
    if (st) {
        char why[sizeof call->message];
        snprintf(why, sizeof why, "%s", call->message);
        corral_call_fail(call, st, "cannot start the gate: %s", why);
        crl_private_gate_stop(pg);
    }
    return st;
}

void crl_private_gate_stop(struct crl_private_gate *pg)
{
    corral_gate_free(pg->gate);
    pg->gate = NULL;
    if (pg->dir[0]) {
        unlink(pg->socket);
        rmdir(pg->dir);
    }
    pg->dir[0] = '\0';
}

static int start_gate(struct rollout *r)
{
    if (!r->spec.uses_model)
        return 0;
    struct corral_gate_responder resp;
    int st = responder_from_model(r, &resp);
    if (st)
        return st;
    if (r->o->gate) {
        r->gate = r->o->gate;
        if (!r->o->gate_socket && !r->o->gate_url)
            return fail(r, CORRAL_EINVAL, "infrastructure", "gate",
                        "a shared gate needs its unix socket path or a gate URL");
        snprintf(r->gate_socket, sizeof r->gate_socket, "%s", r->o->gate_socket ? r->o->gate_socket : "");
    } else {
        /* One agent calls this gate, one call at a time: one HTTP thread per
         * listener is enough, and each extra thread costs memory. */
        st = crl_private_gate_start(r->o, 1, &r->own_gate, r->call);
        if (st)
            return fail(r, st, "infrastructure", "gate", "%s", r->call->message);
        r->gate = r->own_gate.gate;
        snprintf(r->gate_socket, sizeof r->gate_socket, "%s", r->own_gate.socket);
    }
    st = corral_gate_register(r->gate, r->id, &resp, r->token, r->call);
    if (st)
        return fail(r, st, "infrastructure", "gate", "%s", r->call->message);
    r->registered = 1;
    return 0;
}

static int install_agent(struct rollout *r, struct crl_strv *mounts_src)
{
    if (!r->spec.npm)
        return 0;
    int st = crl_agent_install_host(&r->spec, r->agent_dir, sizeof r->agent_dir, r->call);
    if (st)
        return fail(r, st, "infrastructure", "install", "%s", r->call->message);
    crl_strv_push(mounts_src, r->agent_dir);
    return 0;
}

/* The corral-forward binary on the host: $CORRAL_LIBEXEC_DIR, next to
 * this executable (build tree), then the installed libexec dir. */
static int find_forwarder(char *buf, size_t cap)
{
    const char *env = getenv("CORRAL_LIBEXEC_DIR");
    if (env && *env) {
        snprintf(buf, cap, "%s/corral-forward", env);
        if (access(buf, X_OK) == 0)
            return 0;
    }
    char self[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, cap, "%s/corral-forward", self);
            if (access(buf, X_OK) == 0)
                return 0;
        }
    }
    snprintf(buf, cap, "%s/corral-forward", CORRAL_LIBEXEC_DIR);
    return access(buf, X_OK) == 0 ? 0 : -1;
}

static int create_sandbox(struct rollout *r)
{
    struct corral_task *t = r->task;
    const char *backend = r->o->sandbox ? r->o->sandbox : "local";
    const struct corral_plugin_record *rec = corral_plugin_find(r->ctx, CORRAL_PLUGIN_SANDBOX, backend);
    if (!rec)
        return fail(r, CORRAL_ENOTFOUND, "infrastructure", "create",
                    "sandbox backend '%s' is not loaded (see `corral plugins`)", backend);
    const struct corral_sandbox_ops *ops = rec->desc->ops;
    int host_mounts = (ops->caps & CORRAL_CAP_HOST_MOUNTS) != 0;

    struct crl_strv mounts_src = {0};
    struct corral_mount mounts[4];
    size_t n_mounts = 0;
    char forwarder[PATH_MAX];
    int st = 0;
    if (!host_mounts) /* installed inside, per sandbox */
        snprintf(r->agent_mount, sizeof r->agent_mount, "%s/agent", r->run);
    if (host_mounts) {
        st = install_agent(r, &mounts_src);
        if (!st && r->agent_dir[0])
            mounts[n_mounts++] = (struct corral_mount){r->agent_dir, r->agent_mount, 1};
        if (!st && r->registered && !r->o->gate_url) {
            if (find_forwarder(forwarder, sizeof forwarder) != 0) {
                st = fail(r, CORRAL_ENOTFOUND, "infrastructure", "create",
                          "corral-forward not found (set CORRAL_LIBEXEC_DIR or reinstall corral)");
            } else {
                mounts[n_mounts++] = (struct corral_mount){forwarder, FORWARD_IN_SANDBOX, 1};
                /* The socket file itself: the gate may be the rollout's own
                 * (in its private dir) or a shared one (trainer mode). */
                mounts[n_mounts++] = (struct corral_mount){r->gate_socket, GATE_SOCKET_IN_SANDBOX, 0};
            }
        }
    } else if (r->registered && !r->o->gate_url) {
        st = fail(r, CORRAL_ECONFIG, "infrastructure", "create",
                  "backend '%s' cannot reach the gate through a local socket: give the gate's URL as seen from "
                  "the sandbox (--gate-url)",
                  backend);
    }
    crl_strv_free(&mounts_src);
    if (st)
        return st;

    int64_t setup_s = t->setup_timeout_s ? t->setup_timeout_s : 600;
    int64_t verify_s = t->verify_timeout_s ? t->verify_timeout_s : 600;
    int64_t agent_s = r->o->agent_timeout_s > 0 ? r->o->agent_timeout_s
                      : t->agent_timeout_s     ? t->agent_timeout_s
                                               : r->spec.timeout_s;
    struct corral_sandbox_spec spec = {
        .struct_size = sizeof spec,
        .image = r->o->image ? r->o->image : t->image,
        .env = (const char *const *)t->env,
        .workdir = t->workdir,
        .ttl_s = setup_s + agent_s + verify_s + 600,
        .cpus = t->cpus,
        .memory_bytes = t->memory_bytes,
        .pids_max = t->pids,
        .network = t->network,
        .mounts = n_mounts ? mounts : NULL,
        .n_mounts = n_mounts,
    };
    struct corral_sandbox_create_opts co = {.struct_size = sizeof co, .backend = backend, .rollout = r->id};
    st = corral_sandbox_create(r->ctx, &co, &spec, &r->sb, r->call);
    if (st)
        return fail(r, st, "infrastructure", "create", "%s", r->call->message);
    cJSON *sbj = cJSON_GetObjectItemCaseSensitive(r->result, "sandbox");
    cJSON_AddStringToObject(sbj, "id", corral_sandbox_id(r->sb));
    progress(r, "create", "sandbox %s created", corral_sandbox_id(r->sb));
    return 0;
}

static int hydrate(struct rollout *r)
{
    const char *dirs[] = {r->task->workdir, r->run, r->home, r->task_in, NULL};
    int st = mkdirs(r, dirs);
    if (st)
        return fail(r, st, "infrastructure", "hydrate", "%s", r->call->message);
    char src[PATH_MAX + 32];
    if (r->task->has_workspace) {
        snprintf(src, sizeof src, "%s/workspace", r->task->dir);
        st = corral_sandbox_hydrate(r->sb, src, r->task->workdir, r->call);
        if (st)
            return fail(r, st, "infrastructure", "hydrate", "workspace: %s", r->call->message);
    }
    const cJSON *tf;
    cJSON_ArrayForEach(tf, r->spec.task_files) {
        char dst[256];
        snprintf(src, sizeof src, "%s/%s", r->task->dir, tf->valuestring);
        snprintf(dst, sizeof dst, "%s/%s", r->task_in, tf->valuestring);
        struct stat sst;
        if (stat(src, &sst) != 0 || !S_ISDIR(sst.st_mode))
            return fail(r, CORRAL_EINVAL, "task", "hydrate", "agent %s needs the task's %s/ directory (%s)",
                        r->spec.name, tf->valuestring, src);
        st = corral_sandbox_hydrate(r->sb, src, dst, r->call);
        if (st)
            return fail(r, st, "infrastructure", "hydrate", "%s: %s", tf->valuestring, r->call->message);
    }
    return 0;
}

static int setup(struct rollout *r)
{
    int64_t t = r->task->setup_timeout_s ? r->task->setup_timeout_s : 600;
    for (char **c = r->task->setup; c && *c; c++) {
        if (cancelled(r))
            return fail(r, CORRAL_ECANCELED, "infrastructure", "setup", "cancelled");
        int code = 0;
        int st = run_cmd(r, NULL, *c, r->task->workdir, NULL, t, r->setup, &code);
        if (st)
            return fail(r, st, "infrastructure", "setup", "%s", r->call->message);
        if (code != 0)
            return fail(r, CORRAL_EINVAL, "task", "setup", "setup command %d exited with %d: %s",
                        cJSON_GetArraySize(r->setup), code, *c);
    }
    return 0;
}

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
    crl_strv_pushf(env, "CORRAL_ROLLOUT_ID=%s", r->id);
    const cJSON *e;
    char why[256];
    cJSON_ArrayForEach(e, r->spec.env) {
        char *val = crl_agent_subst(e->valuestring, v, why, sizeof why);
        if (!val)
            return fail(r, CORRAL_EINVAL, "infrastructure", "agent", "env %s: %s", e->string, why);
        crl_strv_pushf(env, "%s=%s", e->string, val);
        free(val);
    }
    if (model_key && r->spec.uses_model && r->spec.model_key_env)
        crl_strv_pushf(env, "%s=%s", r->spec.model_key_env, r->token); /* env, never argv */
    return 0;
}

static int write_agent_files(struct rollout *r, const struct crl_agent_vars *v)
{
    const cJSON *f;
    char why[256];
    cJSON_ArrayForEach(f, r->spec.files) {
        char *path = crl_agent_subst(cJSON_GetObjectItemCaseSensitive(f, "path")->valuestring, v, why, sizeof why);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(f, "text");
        char *body = NULL;
        if (path && cJSON_IsString(text)) {
            body = crl_agent_subst(text->valuestring, v, why, sizeof why);
        } else if (path) {
            cJSON *j = crl_agent_subst_json(cJSON_GetObjectItemCaseSensitive(f, "json"), v, why, sizeof why);
            body = j ? cJSON_Print(j) : NULL;
            cJSON_Delete(j);
        }
        int st = !path || !body ? fail(r, CORRAL_EINVAL, "infrastructure", "agent", "agent file: %s", why)
                                : corral_sandbox_write_mem(r->sb, path, body, strlen(body), 0600, r->call);
        if (st && !r->failed)
            fail(r, st, "infrastructure", "agent", "writing %s: %s", path, r->call->message);
        free(path);
        free(body);
        if (st)
            return st;
    }
    return 0;
}

static int check_requirements(struct rollout *r, const struct crl_agent_vars *v, const char *const *env)
{
    if (r->spec.requires) {
        static const char probe[] =
            "for c in \"$@\"; do command -v \"$c\" >/dev/null 2>&1 || { echo \"$c\"; exit 1; }; done";
        const char *argv[20] = {"/bin/sh", "-c", probe, "sh"};
        size_t n = 4;
        const cJSON *c;
        cJSON_ArrayForEach(c, r->spec.requires) if (n + 1 < CRL_ARRAY_LEN(argv)) argv[n++] = c->valuestring;
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
            return fail(r, st, "infrastructure", "agent", "%s", r->call->message);
        if (code != 0)
            return fail(r, CORRAL_ENOTFOUND, "infrastructure", "agent",
                        "agent %s needs '%s' on PATH inside the sandbox (on Debian hosts: apt-get install %s)",
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
        int code = 0;
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = crl_strv_get(&argv), .env = env,
                                          .cwd = r->home, .timeout_ms = 60000};
        struct corral_exec_output out = {0};
        int st = corral_sandbox_run(r->sb, &req, &out, r->call);
        code = out.res.exit_code;
        cJSON *err = tail_json(&out.err);
        corral_exec_output_free(&out);
        crl_strv_free(&argv);
        if (!st && code != 0)
            st = fail(r, CORRAL_EIO, "infrastructure", "agent", "agent %s install check failed (exit %d): %s",
                      r->spec.name, code, err->valuestring);
        else if (st)
            fail(r, st, "infrastructure", "agent", "%s", r->call->message);
        cJSON_Delete(err);
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
        return *shell ? 0 : fail(r, CORRAL_EINVAL, "infrastructure", "install", "install.script: %s", why);
    }
    int st = crl_agent_npm_argv(&r->spec, argv, why, sizeof why);
    if (st)
        return fail(r, st, "infrastructure", "install", "%s", st == CORRAL_ENOMEM ? "out of memory" : why);
    char pkg[PATH_MAX + 16];
    snprintf(pkg, sizeof pkg, "%s/package.json", v->agent_dir);
    st = corral_sandbox_write_mem(r->sb, pkg, CRL_AGENT_PACKAGE_JSON, strlen(CRL_AGENT_PACKAGE_JSON), 0644, r->call);
    if (st)
        return fail(r, st, "infrastructure", "install", "writing %s: %s", pkg, r->call->message);
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
        fail(r, st, "infrastructure", "install", "install_env: %s", why);
    if (!st)
        st = install_command(r, v, &argv, &shell, &cwd);
    if (!st)
        progress(r, "install", "installing %s inside the sandbox", r->spec.name);
    int code = 0;
    for (int attempt = 1; !st && attempt <= 3; attempt++) {
        cJSON *log = cJSON_CreateArray();
        st = run_cmd(r, crl_strv_get(&argv), shell, cwd, crl_strv_get(&env), 900, log, &code);
        cJSON *last = cJSON_GetArrayItem(log, 0);
        char tail[600] = "";
        if (last)
            snprintf(tail, sizeof tail, "%s", cJSON_GetObjectItemCaseSensitive(last, "stderr")->valuestring);
        cJSON_Delete(log);
        if ((!st && code == 0) || (st && !corral_status_is_transient(st)))
            break;
        progress(r, "install", "attempt %d of 3 failed (%s)", attempt, st ? r->call->message : tail);
        if (attempt < 3) {
            sleep((unsigned)(2 << attempt));
            st = 0;
        }
    }
    crl_strv_free(&env);
    crl_strv_free(&argv);
    free(shell);
    if (r->failed)
        return st;
    if (st)
        return fail(r, st, "infrastructure", "install", "installing %s: %s", r->spec.name, r->call->message);
    if (code)
        return fail(r, CORRAL_EIO, "infrastructure", "install", "installing %s inside the sandbox failed (exit %d)",
                    r->spec.name, code);
    return 0;
}

static int start_forwarder(struct rollout *r, corral_sandbox_job **job)
{
    char port_file[192];
    snprintf(port_file, sizeof port_file, "%s/gate.port", r->run);
    const char *argv[] = {FORWARD_IN_SANDBOX, port_file, GATE_SOCKET_IN_SANDBOX, NULL};
    char log[192];
    snprintf(log, sizeof log, "%s/forward.log", r->run);
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .cwd = "/", .err_path = log};
    int st = corral_sandbox_spawn(r->sb, &req, job, r->call);
    if (st)
        return fail(r, st, "infrastructure", "agent", "starting the gate relay: %s", r->call->message);
    for (int i = 0; i < 200 && !cancelled(r); i++) {
        char *data = NULL;
        size_t len = 0;
        struct corral_call c;
        corral_call_init(&c, 5000);
        if (corral_sandbox_read_mem(r->sb, port_file, 64, &data, &len, &c) == 0) {
            int port = atoi(data);
            free(data);
            if (port > 0) {
                snprintf(r->base_url, sizeof r->base_url, "http://127.0.0.1:%d/rollout/%s/v1", port, r->id);
                return 0;
            }
        }
        usleep(25000);
    }
    return fail(r, CORRAL_ETIMEDOUT, "infrastructure", "agent", "the gate relay did not start (see %s)", log);
}

static void parse_events(struct rollout *r, const char *out, size_t len)
{
    const struct corral_agent_ops *ops = r->agent->desc->ops;
    int seq = 0;
    for (const char *p = out; p < out + len;) {
        const char *nl = memchr(p, '\n', (size_t)(out + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(out + len - p);
        cJSON *ev = NULL;
        if (CORRAL_HAS(ops, parse_event)) {
            char *text = NULL;
            struct corral_call c;
            corral_call_init(&c, 0);
            if (ops->parse_event(r->agent->state, p, n, &text, &c) == 0 && text)
                ev = cJSON_Parse(text);
            free(text);
        } else {
            ev = crl_agent_event(&r->spec, p, n);
        }
        if (ev) {
            cJSON_AddNumberToObject(ev, "seq", seq++);
            cJSON_AddItemToArray(r->events, ev);
        }
        p += n + 1;
    }
}

static int run_agent(struct rollout *r)
{
    struct crl_agent_vars v = {.home = r->home, .workdir = r->task->workdir, .run = r->run,
                               .agent_dir = r->agent_mount, .base_url = "", .model = "",
                               .task = r->task_in};
    v.model = r->o->model_name ? r->o->model_name : "corral";
    corral_sandbox_job *fwd = NULL, *job = NULL;
    struct crl_strv env = {0}, argv = {0};
    cJSON *agent = cJSON_GetObjectItemCaseSensitive(r->result, "agent");
    int st = 0;

    if (r->registered) {
        if (r->o->gate_url)
            snprintf(r->base_url, sizeof r->base_url, "%s/rollout/%s/v1", r->o->gate_url, r->id);
        else
            st = start_forwarder(r, &fwd);
    }
    v.base_url = r->base_url;
    if (!st)
        st = agent_env(r, &v, 1, &env);
    if (!st)
        st = install_in_sandbox(r, &v);
    if (!st)
        st = check_requirements(r, &v, crl_strv_get(&env));
    if (!st)
        st = write_agent_files(r, &v);
    char prompt[192];
    snprintf(prompt, sizeof prompt, "%s/instruction.md", r->run);
    if (!st && strcmp(r->spec.prompt, "stdin") == 0) {
        st = corral_sandbox_write_mem(r->sb, prompt, r->task->instruction, r->task->instruction_len, 0644, r->call);
        if (st)
            fail(r, st, "infrastructure", "agent", "writing the instruction: %s", r->call->message);
        /* The prompt goes in on stdin from a file: never one giant argv item. */
        crl_strv_push(&argv, "/bin/sh");
        crl_strv_push(&argv, "-c");
        crl_strv_push(&argv, "exec \"$@\" < \"$0\"");
        crl_strv_push(&argv, prompt);
    }
    const cJSON *a;
    char why[256];
    cJSON_ArrayForEach(a, r->spec.argv) {
        char *s = crl_agent_subst(a->valuestring, &v, why, sizeof why);
        crl_strv_push(&argv, s ? s : "");
        free(s);
    }
    int64_t timeout_s = r->o->agent_timeout_s > 0 ? r->o->agent_timeout_s
                        : r->task->agent_timeout_s ? r->task->agent_timeout_s
                                                   : r->spec.timeout_s;
    char out_path[192], err_path[192];
    snprintf(out_path, sizeof out_path, "%s/agent.stdout", r->run);
    snprintf(err_path, sizeof err_path, "%s/agent.stderr", r->run);
    struct corral_exec_result res = {.struct_size = sizeof res};
    int timed_out = 0;
    if (!st) {
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = crl_strv_get(&argv),
                                          .cwd = r->task->workdir, .env = crl_strv_get(&env),
                                          .out_path = out_path, .err_path = err_path};
        progress(r, "agent", "starting %s (timeout %llds)", r->spec.name, (long long)timeout_s);
        st = corral_sandbox_spawn(r->sb, &req, &job, r->call);
        if (st)
            fail(r, st, "infrastructure", "agent", "starting the agent: %s", r->call->message);
    }
    if (!st) {
        int64_t deadline = corral_now_ms() + timeout_s * 1000;
        for (;;) {
            int64_t left = deadline - corral_now_ms();
            if (left <= 0) {
                timed_out = 1;
                break;
            }
            if (cancelled(r))
                break;
            st = corral_sandbox_job_wait(r->sb, job, left < 500 ? left : 500, &res, r->call);
            if (st != CORRAL_ETIMEDOUT)
                break;
            st = 0;
        }
        if (timed_out || cancelled(r)) {
            struct corral_call kc;
            corral_call_init(&kc, 30000);
            corral_sandbox_job_kill(r->sb, job, &kc);
            corral_sandbox_job_wait(r->sb, job, 10000, &res, &kc);
            res.exit_code = timed_out ? 124 : res.exit_code;
            st = timed_out ? 0 : fail(r, CORRAL_ECANCELED, "infrastructure", "agent", "cancelled");
        } else if (st) {
            fail(r, st, "infrastructure", "agent", "waiting for the agent: %s", r->call->message);
        }
    }
    if (job)
        corral_sandbox_job_free(r->sb, job);
    if (fwd) {
        struct corral_call kc;
        corral_call_init(&kc, 10000);
        corral_sandbox_job_kill(r->sb, fwd, &kc);
        corral_sandbox_job_free(r->sb, fwd);
    }
    if (job && !r->failed) {
        char *out = NULL, *err = NULL;
        size_t olen = 0, elen = 0;
        struct corral_call rc;
        corral_call_init(&rc, 60000);
        corral_sandbox_read_mem(r->sb, out_path, AGENT_STDOUT_MAX, &out, &olen, &rc);
        corral_sandbox_read_mem(r->sb, err_path, AGENT_STDOUT_MAX, &err, &elen, &rc);
        parse_events(r, out ? out : "", olen);
        const char *etail = err ? (elen > OUTPUT_KEEP ? err + elen - OUTPUT_KEEP : err) : "";
        cJSON_AddStringToObject(agent, "stderr_tail", etail);
        free(out);
        free(err);
        cJSON_AddNumberToObject(agent, "exit_code", res.exit_code);
        cJSON_AddBoolToObject(agent, "timed_out", timed_out);
        const char *status = "success";
        if (timed_out) {
            status = "timeout";
            fail(r, CORRAL_ETIMEDOUT, "agent", "agent", "the agent did not finish within %llds (killed)",
                 (long long)timeout_s);
        } else if (!crl_agent_judge(&r->spec, res.exit_code, r->events, why, sizeof why)) {
            status = "failed";
            fail(r, CORRAL_EINVAL, "agent", "agent", "%s", why);
        }
        cJSON_AddStringToObject(agent, "status", status);
        progress(r, "agent", "%s: %s (exit %d, %d events)", r->spec.name, status, res.exit_code,
                 cJSON_GetArraySize(r->events));
    }
    crl_strv_free(&env);
    crl_strv_free(&argv);
    return st;
}

static int verify(struct rollout *r)
{
    struct corral_task *t = r->task;
    if (!t->has_tests && !t->verify)
        return 0;
    int64_t timeout_s = t->verify_timeout_s ? t->verify_timeout_s : 600;
    /* Whatever the agent left in the reward location is discarded first. */
    int code = 0;
    const char *clear[] = {"/bin/sh", "-c", "rm -rf " REWARD_DIR " && mkdir -p " REWARD_DIR, NULL};
    int st = run_cmd(r, clear, NULL, "/", NULL, 60, NULL, &code);
    if (st || code)
        return fail(r, st ? st : CORRAL_EIO, "infrastructure", "verify", "cannot reset %s: %s", REWARD_DIR,
                    st ? r->call->message : "mkdir failed");
    int all_ok = 1;
    if (t->has_tests) {
        char src[PATH_MAX + 8];
        snprintf(src, sizeof src, "%s/tests", t->dir);
        st = corral_sandbox_hydrate(r->sb, src, "/tests", r->call);
        if (st)
            return fail(r, st, "infrastructure", "verify", "uploading tests/: %s", r->call->message);
        const char *argv[] = {"bash", "/tests/test.sh", NULL};
        st = run_cmd(r, argv, NULL, t->workdir, NULL, timeout_s, r->verify, &code);
        if (st)
            return fail(r, st, "infrastructure", "verify", "%s", r->call->message);
        all_ok &= code == 0;
    }
    for (char **c = t->verify; c && *c; c++) {
        st = run_cmd(r, NULL, *c, t->workdir, NULL, timeout_s, r->verify, &code);
        if (st)
            return fail(r, st, "infrastructure", "verify", "%s", r->call->message);
        all_ok &= code == 0;
    }
    char *data = NULL;
    size_t len = 0;
    struct corral_call rc;
    corral_call_init(&rc, 30000);
    double reward = all_ok ? 1.0 : 0.0;
    const char *source = "exit_status";
    if (corral_sandbox_read_mem(r->sb, REWARD_DIR "/reward.txt", 4096, &data, &len, &rc) == 0) {
        char *end = NULL;
        double v = strtod(data, &end);
        while (end && (*end == '\n' || *end == ' ' || *end == '\r' || *end == '\t'))
            end++;
        if (end && end != data && *end == '\0') {
            reward = v;
            source = "reward.txt";
        } else {
            free(data);
            return fail(r, CORRAL_EINVAL, "task", "verify", REWARD_DIR "/reward.txt is not a number");
        }
        free(data);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(r->result, "reward", cJSON_CreateNumber(reward));
    cJSON_AddStringToObject(r->result, "reward_source", source);
    progress(r, "verify", "reward %g (from %s)", reward, source);
    return 0;
}

/* ---- Cleanup ------------------------------------------------------------------------ */

static void teardown(struct rollout *r)
{
    struct corral_call c;
    corral_call_init(&c, 120000); /* not cancellable: cleanup must happen */
    phase_begin(r);
    if (r->sb && !r->o->keep_sandbox) {
        if (corral_sandbox_destroy(r->sb, &c) != 0)
            corral_log(CORRAL_LOG_ERROR, "run", "could not destroy sandbox %s: %s (`corral gc` will)",
                       corral_sandbox_id(r->sb), c.message);
        else
            progress(r, "destroy", "sandbox %s destroyed", corral_sandbox_id(r->sb));
    }
    corral_sandbox_close(r->sb);
    r->sb = NULL;
    phase_end(r, "destroy");
    if (r->registered) {
        char *tr = NULL;
        if (corral_gate_unregister(r->gate, r->id, &tr, &c) == 0 && tr) {
            cJSON *j = cJSON_Parse(tr);
            if (j)
                cJSON_ReplaceItemInObjectCaseSensitive(r->result, "transcript", j);
        }
        free(tr);
        r->registered = 0;
    }
    crl_private_gate_stop(&r->own_gate);
    r->gate = NULL;
}

static void result_init(struct rollout *r)
{
    r->result = cJSON_CreateObject();
    cJSON_AddStringToObject(r->result, "rollout_id", r->id);
    cJSON *task = cJSON_AddObjectToObject(r->result, "task");
    cJSON_AddStringToObject(task, "dir", r->o->task_dir ? r->o->task_dir : "");
    cJSON *agent = cJSON_AddObjectToObject(r->result, "agent");
    cJSON_AddStringToObject(agent, "name", r->o->agent ? r->o->agent : "");
    cJSON *sb = cJSON_AddObjectToObject(r->result, "sandbox");
    cJSON_AddStringToObject(sb, "backend", r->o->sandbox ? r->o->sandbox : "local");
    cJSON_AddNullToObject(r->result, "reward");
    cJSON_AddNullToObject(r->result, "error");
    r->timings = cJSON_AddObjectToObject(r->result, "timings_ms");
    r->setup = cJSON_AddArrayToObject(r->result, "setup");
    r->verify = cJSON_AddArrayToObject(r->result, "verify");
    r->events = cJSON_AddArrayToObject(r->result, "events");
    cJSON_AddArrayToObject(r->result, "transcript");
}

static int prepare(struct rollout *r)
{
    if (!r->o->task_dir || !r->o->agent)
        return fail(r, CORRAL_EINVAL, "task", "load", "a task directory and an agent are required");
    int st = corral_task_load(r->o->task_dir, &r->task, r->call);
    if (st)
        return fail(r, st, "task", "load", "%s", r->call->message);
    cJSON *task = cJSON_GetObjectItemCaseSensitive(r->result, "task");
    cJSON_AddStringToObject(task, "name", r->task->name);
    r->agent = corral_plugin_find(r->ctx, CORRAL_PLUGIN_AGENT, r->o->agent);
    if (!r->agent)
        return fail(r, CORRAL_ENOTFOUND, "infrastructure", "load",
                    "agent '%s' is not loaded (see `corral plugins`)", r->o->agent);
    const struct corral_agent_ops *ops = r->agent->desc->ops;
    char why[512];
    if (crl_agent_spec_parse(ops->spec_json, &r->spec, why, sizeof why) != 0)
        return fail(r, CORRAL_EINVAL, "infrastructure", "load", "agent %s: %s", r->o->agent, why);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r->result, "agent"), "version", r->agent->desc->version);
    snprintf(r->run, sizeof r->run, "/tmp/corral-%s", r->id);
    snprintf(r->home, sizeof r->home, "%s/home", r->run);
    snprintf(r->task_in, sizeof r->task_in, "%s/task", r->run);
    snprintf(r->agent_mount, sizeof r->agent_mount, "%s/%s", AGENT_MOUNT_ROOT, r->spec.name);
    return 0;
}

int crl_rollout_options_copy(const struct corral_rollout_options *in, struct corral_rollout_options *out,
                             struct corral_call *call)
{
    memset(out, 0, sizeof *out);
    if (!in || in->struct_size < offsetof(struct corral_rollout_options, install_env))
        return corral_call_fail(call, CORRAL_EINVAL, "rollout options missing or of unknown struct_size");
    memcpy(out, in, in->struct_size < sizeof *out ? in->struct_size : sizeof *out);
    out->struct_size = sizeof *out;
    return 0;
}

int corral_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *options, char **result_json,
                       struct corral_call *call)
{
    struct corral_rollout_options o;
    *result_json = NULL;
    int st = crl_rollout_options_copy(options, &o, call);
    return st ? st : crl_rollout_run(ctx, &o, 1, result_json, call);
}

int crl_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *o, int pretty, char **result_json,
                    struct corral_call *call)
{
    struct rollout r = {.ctx = ctx, .o = o, .call = call};
    r.t0 = corral_now_ms();
    if (o->rollout_id) {
        snprintf(r.id, sizeof r.id, "%s", o->rollout_id);
    } else {
        unsigned char rnd[8];
        RAND_bytes(rnd, sizeof rnd);
        snprintf(r.id, sizeof r.id, "r-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]);
    }
    result_init(&r);
    int st = prepare(&r);
    if (!st)
        st = start_gate(&r);
    if (!st) {
        phase_begin(&r);
        st = create_sandbox(&r);
        phase_end(&r, "create");
    }
    if (!st) {
        phase_begin(&r);
        st = hydrate(&r);
        phase_end(&r, "hydrate");
    }
    if (!st) {
        phase_begin(&r);
        st = setup(&r);
        phase_end(&r, "setup");
    }
    if (!st && !cancelled(&r)) {
        phase_begin(&r);
        st = run_agent(&r);
        phase_end(&r, "agent");
    }
    /* Verify also after an agent failure (its reward is what it is), but
     * not after an infrastructure failure or a cancel. */
    if (!st && !cancelled(&r)) {
        phase_begin(&r);
        st = verify(&r);
        phase_end(&r, "verify");
    }
    teardown(&r);
    cJSON_AddNumberToObject(r.timings, "total", (double)(corral_now_ms() - r.t0));
    *result_json = pretty ? cJSON_Print(r.result) : cJSON_PrintUnformatted(r.result);
    cJSON_Delete(r.result);
    crl_agent_spec_free(&r.spec);
    corral_task_free(r.task);
    /* Agent and task failures are results, not failures of corral. */
    (void)st;
    return r.infra_status;
}
