/*
 * Completing a sandbox plugin's ops table, once, when the plugin is loaded
 * (the way libfabric fills the slots a provider leaves unset with fi_no_*
 * stubs).  Every optional slot of struct crl_sandbox_table is set to one
 * of: an adapter to the plugin's own op, the exec-based emulation
 * (sandbox_emul.c), or a stub that answers CORRAL_ENOTSUP.  The facade
 * (sandbox.c) then calls through the table without asking which, and
 * CORRAL_SANDBOX_EMULATE is read here, at load, not per call.
 */
#include "base/internal.h" /* crl_sandbox_table_new */
#include "sandbox/sandbox_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- adapters to the plugin's own slots ---- */

static int native_attach(corral_sandbox *sb, const char *state_json, struct corral_call *call)
{
    return sb->ops->attach(sb->ps, state_json, &sb->sbx, call);
}

static int native_read_file(corral_sandbox *sb, const char *path, const struct corral_sink *sink,
                            struct corral_call *call)
{
    return sb->ops->read_file(sb->sbx, path, sink, call);
}

static int native_write_file(corral_sandbox *sb, const char *path, const struct corral_source *src, uint32_t mode,
                             struct corral_call *call)
{
    return sb->ops->write_file(sb->sbx, path, src, mode, call);
}

static int native_put_archive(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                              struct corral_call *call)
{
    return sb->ops->put_archive(sb->sbx, dir, src, call);
}

static int native_get_archive(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                              struct corral_call *call)
{
    return sb->ops->get_archive(sb->sbx, dir, sink, call);
}

static int native_spawn(corral_sandbox *sb, const struct corral_exec_request *req, corral_sandbox_job *job,
                        struct corral_call *call)
{
    int rc = sb->ops->spawn(sb->sbx, req, &job->native, call);
    if (rc == 0 && !job->native)
        rc = corral_call_fail(call, CORRAL_EINTERNAL, "the %s backend's spawn returned no job", sb->backend);
    if (rc && job->native) { /* sandbox.h: a half-made job is the host's to free, once */
        sb->ops->job_free(sb->sbx, job->native);
        job->native = NULL;
    }
    return rc;
}

static int native_job_wait(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                           struct corral_exec_result *res, struct corral_call *call)
{
    return sb->ops->job_wait(sb->sbx, job->native, timeout_ms, res, call);
}

static int native_job_kill(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call)
{
    return sb->ops->job_kill(sb->sbx, job->native, call);
}

static void native_job_free(corral_sandbox *sb, corral_sandbox_job *job)
{
    if (job->native)
        sb->ops->job_free(sb->sbx, job->native);
}

static int native_pause(corral_sandbox *sb, struct corral_call *call)
{
    return sb->ops->pause(sb->sbx, call);
}

static int native_resume(corral_sandbox *sb, struct corral_call *call)
{
    return sb->ops->resume(sb->sbx, call);
}

static int native_running(corral_sandbox *sb, struct corral_call *call)
{
    return sb->ops->running(sb->sbx, call);
}

static int native_quiesce(corral_sandbox *sb, struct corral_call *call)
{
    return sb->ops->quiesce(sb->sbx, call);
}

/* ---- what no emulation can offer ---- */

static int not_offered(const corral_sandbox *sb, const char *what, struct corral_call *call)
{
    return corral_call_fail(call, CORRAL_ENOTSUP, "the %s sandbox backend does not offer %s", sb->backend, what);
}

static int no_attach(corral_sandbox *sb, const char *state_json, struct corral_call *call)
{
    (void)state_json;
    return not_offered(sb, "attach (reattaching from another process)", call);
}

static int no_pause(corral_sandbox *sb, struct corral_call *call)
{
    return not_offered(sb, "pause", call);
}

static int no_resume(corral_sandbox *sb, struct corral_call *call)
{
    return not_offered(sb, "resume", call);
}

static int no_running(corral_sandbox *sb, struct corral_call *call)
{
    return not_offered(sb, "a liveness probe (running)", call);
}

/* No exec-based emulation on purpose: `kill -1` run inside would also
 * kill a backend's own service (e2b's envd, the hf server) and runs a
 * binary the agent may have replaced. */
static int no_quiesce(corral_sandbox *sb, struct corral_call *call)
{
    return not_offered(sb, "quiesce (killing what the agent left running)", call);
}

static void emul_job_free(corral_sandbox *sb, corral_sandbox_job *job)
{
    (void)sb, (void)job; /* the markers are removed by the last poll */
}

/* ---- completion ---- */

/* CORRAL_SANDBOX_EMULATE=1 makes the host emulate file, archive and job
 * operations through exec even where the plugin has them natively: a
 * debugging knob that lets the conformance suite check the emulations
 * against real images (busybox, distro bases). */
static int force_emulation(void)
{
    const char *e = getenv("CORRAL_SANDBOX_EMULATE");
    return e && *e && strcmp(e, "0") != 0;
}

struct crl_sandbox_table *crl_sandbox_table_new(const struct corral_sandbox_ops *ops)
{
    struct crl_sandbox_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    int emulate = force_emulation();
#define PICK(slot, native, emul) (CORRAL_HAS(ops, slot) && !emulate ? (native) : (emul))
    t->read_file = PICK(read_file, native_read_file, sbx_emul_read_file);
    t->write_file = PICK(write_file, native_write_file, sbx_emul_write_file);
    t->put_archive = PICK(put_archive, native_put_archive, sbx_emul_put_archive);
    t->get_archive = PICK(get_archive, native_get_archive, sbx_emul_get_archive);
#undef PICK
    if (corral_sandbox_op_support(ops, CORRAL_OP_SPAWN) == CORRAL_OP_NATIVE && !emulate) {
        t->spawn = native_spawn;
        t->job_wait = native_job_wait;
        t->job_kill = native_job_kill;
        t->job_free = native_job_free;
    } else {
        t->spawn = sbx_emul_spawn;
        t->job_wait = sbx_emul_job_wait;
        t->job_kill = sbx_emul_job_kill;
        t->job_free = emul_job_free;
    }
    t->attach = CORRAL_HAS(ops, attach) ? native_attach : no_attach;
    int pause = corral_sandbox_op_support(ops, CORRAL_OP_PAUSE) == CORRAL_OP_NATIVE;
    t->pause = pause ? native_pause : no_pause;
    t->resume = pause ? native_resume : no_resume;
    t->running = CORRAL_HAS(ops, running) ? native_running : no_running;
    t->quiesce = CORRAL_HAS(ops, quiesce) ? native_quiesce : no_quiesce;
    return t;
}

void crl_sandbox_table_free(struct crl_sandbox_table *t)
{
    free(t);
}
