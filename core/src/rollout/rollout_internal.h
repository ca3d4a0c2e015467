/* Inside libcorral: what the batch runner (batch.c) shares with the
 * single-rollout runner (rollout.c). */
#ifndef CRL_ROLLOUT_INTERNAL_H
#define CRL_ROLLOUT_INTERNAL_H

#include <corral/rollout.h>

/* Copy caller options of any known struct_size into *out (fields the
 * caller's struct lacks are zero).  CORRAL_EINVAL for NULL or a struct_size
 * older than the first release's. */
int crl_rollout_options_copy(const struct corral_rollout_options *in, struct corral_rollout_options *out,
                             struct corral_call *call);

/* corral_rollout_run() on options already copied; `pretty` picks indented
 * JSON over one line.  *result_json is the caller's to free. */
int crl_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *o, int pretty, char **result_json,
                    struct corral_call *call);

/* A gate of this process for one rollout or a batch: its unix socket in a
 * fresh private directory under /tmp (mode 0711, so sandbox users reach
 * the socket and nothing else), o->gate_listen when set, o->model_name as
 * the model it reports, `threads` HTTP threads per listener (0 = the
 * gate's default). */
struct crl_private_gate {
    corral_gate *gate;                 /* NULL until started */
    char dir[64];                      /* "" until made */
    char socket[96];
};

/* Start *pg (zeroed by the caller).  On failure what was made is undone
 * and the message in `call` says why.  The caller stops it. */
int crl_private_gate_start(const struct corral_rollout_options *o, unsigned threads, struct crl_private_gate *pg,
                           struct corral_call *call);
/* Free the gate, remove its socket and directory; a no-op on a zeroed one. */
void crl_private_gate_stop(struct crl_private_gate *pg);

#endif
