/* Inside libcorral: a gate of this process for one rollout or one batch
 * (the "gate" phase in rollout/phases.c and rollout/batch.c start it;
 * see docs/rollout.md). */
#ifndef CRL_PRIVATE_GATE_H
#define CRL_PRIVATE_GATE_H

#include <corral/gate.h>
#include <corral/rollout.h>

/* A gate with its unix socket in a fresh private directory under /tmp
 * (mode 0711, so sandbox users reach the socket and nothing else). */
struct crl_private_gate {
    corral_gate *gate;                 /* NULL until started */
    char dir[64];                      /* "" until made */
    char socket[96];
};

/* Start *pg (zeroed by the caller) with the "limits" of ctx's
 * configuration (config/limits.h; ctx may be NULL), the upstream caps of
 * rollout options ro overriding them when set: `model` is the model name the gate
 * reports, `listen` an optional "ADDR:PORT" for its TCP listener (NULL:
 * the gate's default), `threads` HTTP threads per listener (0 = the gate's
 * default).  On failure what was made is undone and the message in `call`
 * says why.  The caller stops it with crl_private_gate_stop(). */
int crl_private_gate_start(const corral_ctx *ctx, const struct corral_rollout_options *ro, const char *model,
                           const char *listen, unsigned threads, struct crl_private_gate *pg,
                           struct corral_call *call);
/* Free the gate, remove its socket and directory; a no-op on a zeroed one. */
void crl_private_gate_stop(struct crl_private_gate *pg);

/* The directory private gates are made in: $TMPDIR when absolute and
 * short enough for a socket path, else /tmp (gate_dirs.c). */
const char *crl_gate_tmp_root(void);
/* Write dir/owner: this process's owner token, so that `corral gc` can
 * remove the dir once this process is gone.  0 or -1. */
int crl_gate_dir_claim(const char *dir);

#endif
