/*
 * One rollout, start to finish (see <corral/rollout.h> and
 * docs/rollout.md): the plan, the phase table and the loop that runs it.
 * Every failure is recorded with its class and the phase it happened in,
 * and the sandbox and the gate registration are released on every path,
 * also when cancelled.  The phases themselves are in phases.c and
 * agent_phase.c; the record and its JSON in result.c.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rollout/rollout_internal.h"
#include <corral/dataset.h>

/* ---- The plan ------------------------------------------------------------------- */

/* The built-in defaults: the only place they are written. */
#define DEFAULT_BACKEND "local"
#define DEFAULT_MODEL_NAME "corral"
#define DEFAULT_PHASE_TIMEOUT_S 600   /* setup and verify commands; also the sandbox TTL's slack */
#define DEFAULT_AGENT_TIMEOUT_S 900   /* an agent whose spec names no timeout_s */
#define DEFAULT_INSTALL_TIMEOUT_S 900 /* one attempt of the agent's install inside the sandbox */
#define DEFAULT_WORKDIR "/workspace"  /* a task that did not load */

/* The first of the candidates that is set (> 0), else the default. */
static int64_t first_set(int64_t command_line, int64_t task, int64_t spec, int64_t dflt)
{
    return command_line > 0 ? command_line : task > 0 ? task : spec > 0 ? spec : dflt;
}

/* A timeout times its phase's multiplier `phase` when above 0, else the
 * options' timeout_multiplier (0 or unset: 1), rounded up: Harbor's rule,
 * where a per-phase multiplier replaces the global one (docs/harbor.md). */
static int64_t scaled(const struct corral_rollout_options *o, double phase, int64_t s)
{
    double m = phase > 0 ? phase : CORRAL_HAS_FIELD(o, timeout_multiplier) ? o->timeout_multiplier : 0;
    if (!(m > 0) || m == 1)
        return s;
    double v = ceil((double)s * m);
    return v < 1 ? 1 : v > (double)CRL_MAX_TIMEOUT_S ? CRL_MAX_TIMEOUT_S : (int64_t)v;
}

const char *crl_rollout_model_name(const struct corral_rollout_options *o)
{
    return o->model_name ? o->model_name : DEFAULT_MODEL_NAME;
}

void crl_rollout_plan_resolve(const struct corral_rollout_options *o, const struct corral_task *t,
                              const struct crl_agent_spec *s, struct crl_rollout_plan *plan)
{
    /* Precedence: command line (the options) > task > agent spec > default. */
    plan->backend = o->sandbox ? o->sandbox : DEFAULT_BACKEND;
    plan->image = o->image ? o->image : t ? t->image : NULL;
    plan->workdir = t && t->workdir ? t->workdir : DEFAULT_WORKDIR;
    plan->network = t ? t->network : CORRAL_NET_NONE;
    plan->model_name = crl_rollout_model_name(o);
    int per_phase = CORRAL_HAS_FIELD(o, agent_setup_timeout_multiplier);
    plan->setup_s = scaled(o, 0, first_set(0, t ? t->setup_timeout_s : 0, 0, DEFAULT_PHASE_TIMEOUT_S));
    plan->install_s = scaled(o, per_phase ? o->agent_setup_timeout_multiplier : 0, DEFAULT_INSTALL_TIMEOUT_S);
    plan->agent_s = scaled(o, per_phase ? o->agent_timeout_multiplier : 0,
                           first_set(o->agent_timeout_s, t ? t->agent_timeout_s : 0, s ? s->timeout_s : 0,
                                     DEFAULT_AGENT_TIMEOUT_S));
    plan->verify_s = scaled(o, per_phase ? o->verifier_timeout_multiplier : 0,
                            first_set(0, t ? t->verify_timeout_s : 0, 0, DEFAULT_PHASE_TIMEOUT_S));
    plan->ttl_s = plan->setup_s + plan->agent_s + plan->verify_s + DEFAULT_PHASE_TIMEOUT_S;
    int vs = CORRAL_HAS_FIELD(o, verify_sandbox) ? o->verify_sandbox : 0;
    plan->verify_sandbox = vs ? vs : t && t->verify_sandbox ? t->verify_sandbox : CORRAL_VERIFY_FRESH;
}

/* ---- The phase table -------------------------------------------------------------- */

enum {
    PHASE_SKIP_CANCELLED = 1 << 0, /* not started once the rollout is cancelled: recorded as cancelled here */
    PHASE_ALWAYS = 1 << 1,         /* runs also after a phase ended the lifecycle (cleanup) */
};

/* The lifecycle.  Adding a phase is adding a row; its name is the key of
 * its time in "timings_ms" and the "error.phase" of what fails in it.
 * Verify runs also after an agent failure (its reward is what it is), but
 * not after an infrastructure failure or a cancel. */
static const struct phase {
    const char *name;
    int (*run)(struct rollout *r);
    unsigned flags;
    int (*when)(const struct rollout *r); /* NULL: always; else the row runs (and is timed) only when true */
} phases[] = {
    {"load", crl_phase_load, 0, NULL},        /* task, agent, spec, the plan */
    {"gate", crl_phase_gate, 0, NULL},        /* register with a gate when the agent calls a model */
    {"create", crl_phase_create, PHASE_SKIP_CANCELLED, NULL}, /* install on the host (backends with host mounts) */
    {"hydrate", crl_phase_hydrate, PHASE_SKIP_CANCELLED, NULL},
    {"setup", crl_phase_setup, PHASE_SKIP_CANCELLED, NULL},
    {"agent", crl_phase_agent, PHASE_SKIP_CANCELLED, NULL},
    {"verify_sandbox", crl_phase_verify_sandbox, PHASE_SKIP_CANCELLED, NULL}, /* fresh verifier sandbox (default) */
    {"verify", crl_phase_verify, PHASE_SKIP_CANCELLED, NULL},
    {"collect", crl_phase_collect, PHASE_ALWAYS, crl_phase_collect_wanted}, /* --artifacts DIR */
    {"destroy", crl_phase_destroy, PHASE_ALWAYS, NULL},
};

_Static_assert(CRL_ARRAY_LEN(phases) <= CRL_ROLLOUT_MAX_PHASES, "the record keeps a timing per phase");

/* ---- What every phase uses -------------------------------------------------------- */

void crl_rollout_progress(struct rollout *r, const char *fmt, ...)
{
    if (!r->o->progress)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->o->progress(r->o->progress_ud, r->phase, msg);
}

int crl_rollout_cancelled(const struct rollout *r)
{
    return corral_call_cancelled(r->call);
}

/* The request or command a cancel interrupted is not what went wrong, so
 * its message is replaced by "cancelled" (the phase says where). */
int crl_rollout_fail(struct rollout *r, int cls, int status, const char *fmt, ...)
{
    char msg[2048];
    if ((status == CORRAL_ECANCELED && crl_rollout_cancelled(r)) || cls == CORRAL_ROLLOUT_ERR_CANCELLED) {
        cls = CORRAL_ROLLOUT_ERR_CANCELLED;
        status = CORRAL_ECANCELED;
        snprintf(msg, sizeof msg, "cancelled");
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (!crl_record_error(&r->rec, cls, r->phase, status, msg))
        return status;
    if (cls == CORRAL_ROLLOUT_ERR_INFRA || cls == CORRAL_ROLLOUT_ERR_CANCELLED)
        r->rec.status = status ? status : CORRAL_EINTERNAL;
    crl_rollout_progress(r, "failed (%s): %s", crl_rollout_error_name(cls), msg);
    return status;
}

void crl_rollout_note_exit(struct rollout *r, int exit_code)
{
    if (!r->stop_signalled && (exit_code == 128 + SIGTERM || exit_code == 128 + SIGINT || exit_code == 128 + SIGHUP))
        r->stop_signalled = r->phase;
}

/* After the phases: a process that died of a stop signal, and corral's
 * own cancel within a second of it, mean the run was stopped, whatever
 * the dead process made the phase record (an agent "failure", a reward 0
 * from a killed test): the result is a cancel, which --resume runs again. */
static void stop_signal_is_cancel(struct rollout *r)
{
    for (int i = 0; r->stop_signalled && i < 20 && !crl_rollout_cancelled(r); i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!r->stop_signalled || !crl_rollout_cancelled(r) || r->rec.error_class == CORRAL_ROLLOUT_ERR_CANCELLED)
        return;
    r->rec.error_class = CORRAL_ROLLOUT_OK;
    r->rec.has_reward = 0;
    r->phase = r->stop_signalled;
    crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_CANCELLED, CORRAL_ECANCELED, "cancelled");
}

int crl_rollout_exec_as(struct rollout *r, const char *user, const char *const *argv, const char *shell,
                        const char *cwd, const char *const *env, int64_t timeout_s, struct crl_command_log *log,
                        int *exit_code)
{
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = shell ? NULL : argv, .shell = shell,
                                      .cwd = cwd, .env = env, .timeout_ms = timeout_s * 1000, .user = user};
    struct corral_exec_output out = {0};
    int st = corral_sandbox_run(r->sb, &req, &out, r->call);
    if (st == 0) {
        *exit_code = out.res.exit_code;
        crl_rollout_note_exit(r, out.res.exit_code);
        if (log)
            crl_record_command(log, argv, shell, &out);
    }
    corral_exec_output_free(&out);
    return st;
}

int crl_rollout_exec(struct rollout *r, const char *const *argv, const char *shell, const char *cwd,
                     const char *const *env, int64_t timeout_s, struct crl_command_log *log, int *exit_code)
{
    return crl_rollout_exec_as(r, NULL, argv, shell, cwd, env, timeout_s, log, exit_code);
}

int crl_rollout_give(struct rollout *r, const char *user, const char *const *paths, const char *table)
{
    const char *argv[16] = {"chown", "-R", "--", user};
    size_t n = 4;
    for (; *paths && n + 1 < CRL_ARRAY_LEN(argv); paths++)
        argv[n++] = *paths;
    argv[n] = NULL;
    int code = 0;
    int st = crl_rollout_exec(r, argv, NULL, "/", NULL, 60, NULL, &code);
    if (st)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, st, "[%s] user %s: chown: %s", table, user,
                                r->call->message);
    if (code)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_TASK, CORRAL_EINVAL,
                                "[%s] user %s: chown of its directories exited with %d (is the sandbox's own user "
                                "root, and does the image know %s?)",
                                table, user, code, user);
    return 0;
}

int crl_rollout_user_probe(struct rollout *r, const char *user, const char *table)
{
    const char *argv[] = {"true", NULL};
    int code = 0;
    int st = crl_rollout_exec_as(r, user, argv, NULL, "/", NULL, 60, NULL, &code);
    if (st == CORRAL_ENOTSUP)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, st, "[%s] user %s: %s", table, user, r->call->message);
    if (st || code)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_TASK, st ? st : CORRAL_EINVAL,
                                "[%s] user %s: the sandbox cannot run a command as that user: %s", table, user,
                                st ? r->call->message : "true exited non-zero");
    return 0;
}

/* ---- Entry points ------------------------------------------------------------------- */

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

int crl_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *o, int pretty,
                    struct crl_rollout_record *rec, struct corral_call *call)
{
    struct rollout r = {.ctx = ctx, .o = o, .call = call, .phase = phases[0].name};
    int64_t t0 = corral_now_ms();
    /* Cancellation has one carrier from here on: the call. */
    const volatile int *callers_cancel = call->cancel;
    if (!call->cancel)
        call->cancel = o->cancel;
    char id[64];
    if (o->rollout_id) {
        snprintf(id, sizeof id, "%s", o->rollout_id);
    } else {
        unsigned char rnd[8];
        RAND_bytes(rnd, sizeof rnd);
        snprintf(id, sizeof id, "r-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]);
    }
    if (crl_record_init(&r.rec, id, o->task_dir, o->agent, NULL) != 0)
        r.stopped = crl_rollout_fail(&r, CORRAL_ROLLOUT_ERR_INFRA, CORRAL_ENOMEM, "out of memory") != 0;
    r.rec.attempt = o->attempt; /* o is a crl_rollout_options_copy(): 0 from older callers */
    if (o->dataset) {
        crl_record_set(&r.rec.dataset_source, o->dataset->source);
        crl_record_set(&r.rec.dataset_name, o->dataset->name);
        crl_record_set(&r.rec.dataset_version, o->dataset->version);
        crl_record_set(&r.rec.dataset_commit, o->dataset->commit);
    }

    for (size_t i = 0; i < CRL_ARRAY_LEN(phases); i++) {
        const struct phase *p = &phases[i];
        if (r.stopped && !(p->flags & PHASE_ALWAYS))
            continue;
        if (p->when && !p->when(&r))
            continue;
        r.phase = p->name;
        if ((p->flags & PHASE_SKIP_CANCELLED) && crl_rollout_cancelled(&r)) {
            crl_rollout_fail(&r, CORRAL_ROLLOUT_ERR_CANCELLED, CORRAL_ECANCELED, "cancelled");
            r.stopped = 1;
            continue;
        }
        int64_t start = corral_now_ms();
        if (p->run(&r) != 0)
            r.stopped = 1;
        crl_record_timing(&r.rec, p->name, corral_now_ms() - start);
    }
    stop_signal_is_cancel(&r);
    r.rec.total_ms = corral_now_ms() - t0;
    crl_agent_spec_free(&r.spec);
    corral_task_free(r.task);
    free(r.built_image);
    call->cancel = callers_cancel;
    *rec = r.rec;
    if (crl_record_finish(rec, pretty) != 0 && !rec->status)
        rec->status = CORRAL_ENOMEM;
    /* Agent and task failures are results, not failures of corral. */
    return rec->status;
}

int corral_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *options, char **result_json,
                       struct corral_call *call)
{
    struct corral_rollout_options o;
    *result_json = NULL;
    int st = crl_rollout_options_copy(options, &o, call);
    if (st)
        return st;
    struct crl_rollout_record rec;
    st = crl_rollout_run(ctx, &o, 1, &rec, call);
    *result_json = rec.json;
    rec.json = NULL;
    crl_record_free(&rec);
    return st;
}

int corral_rollout_run_result(corral_ctx *ctx, const struct corral_rollout_options *options,
                              struct corral_rollout_result **result, struct corral_call *call)
{
    struct corral_rollout_options o;
    *result = NULL;
    int st = crl_rollout_options_copy(options, &o, call);
    if (st)
        return st;
    struct crl_rollout_record *rec = malloc(sizeof *rec);
    if (!rec)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    st = crl_rollout_run(ctx, &o, 1, rec, call);
    *result = &rec->pub; /* the record's first member */
    return st;
}

void corral_rollout_result_free(struct corral_rollout_result *result)
{
    if (!result)
        return;
    struct crl_rollout_record *rec = (struct crl_rollout_record *)result;
    crl_record_free(rec);
    free(rec);
}
