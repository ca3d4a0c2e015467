/* The collect phase: with --artifacts DIR, Harbor's /logs/agent,
 * /logs/artifacts (from the agent's sandbox) and /logs/verifier (from the
 * sandbox the tests ran in) are copied to DIR/<rollout id>/ before the
 * sandboxes are destroyed, also after a failure, when they matter most
 * (docs/rollout.md, "Artifacts"). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "crl_common.h"
#include "rollout/rollout_internal.h"

int crl_phase_collect_wanted(const struct rollout *r)
{
    return r->o->artifacts_dir && r->o->artifacts_dir[0] && r->sb;
}

int crl_phase_collect(struct rollout *r)
{
    struct corral_call c;
    corral_call_init(&c, 300000); /* not cancellable: what ran is kept */
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%s", r->o->artifacts_dir, r->rec.id);
    int e = n < 0 || (size_t)n >= sizeof dir ? -ENAMETOOLONG : crl_mkdir_p(dir, 0755);
    if (e) {
        crl_record_set(&r->rec.artifacts_error, strerror(-e));
        corral_log(CORRAL_LOG_WARN, "run", "artifacts: cannot create %s: %s", dir, strerror(-e));
        return 0;
    }
    crl_record_set(&r->rec.artifacts_dir, dir);
    corral_sandbox *agent_sb = r->agent_sb ? r->agent_sb : r->sb;
    const struct {
        corral_sandbox *sb;
        const char *from, *to;
    } what[] = {{agent_sb, "/logs/agent", "agent"}, {agent_sb, "/logs/artifacts", "artifacts"},
                {r->sb, "/logs/verifier", "verifier"}};
    struct crl_buf errs = {0};
    size_t copied = 0;
    for (size_t i = 0; i < CRL_ARRAY_LEN(what); i++) {
        char out[PATH_MAX + 16];
        snprintf(out, sizeof out, "%s/%s", dir, what[i].to);
        corral_call_init(&c, 300000);
        int st = corral_sandbox_persist(what[i].sb, what[i].from, out, &c);
        if (st == 0)
            copied++;
        else if (st != CORRAL_ENOTFOUND) /* a phase that did not run made no directory */
            crl_buf_addf(&errs, "%s%s: %s", errs.len ? "; " : "", what[i].from, c.message);
    }
    if (errs.len) {
        crl_record_set(&r->rec.artifacts_error, errs.p);
        corral_log(CORRAL_LOG_WARN, "run", "artifacts of %s: %s", r->rec.id, errs.p);
    }
    crl_rollout_progress(r, "%zu of Harbor's /logs directories copied to %s%s", copied, dir,
                         errs.len ? " (some could not be: see the result's artifacts.error)" : "");
    crl_buf_free(&errs);
    return 0;
}
