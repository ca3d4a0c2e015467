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

/* Start the gate a rollout (or a batch of rollouts with the same options)
 * talks to: its unix socket at socket_path, o->gate_listen when set,
 * o->model_name as the model it reports, `threads` HTTP threads per
 * listener (0 = the gate's default).  *out is the caller's
 * (corral_gate_free). */
int crl_rollout_gate_new(const struct corral_rollout_options *o, const char *socket_path, unsigned threads,
                         corral_gate **out, struct corral_call *call);

#endif
