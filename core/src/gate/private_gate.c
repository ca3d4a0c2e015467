/* A private gate for a rollout or a batch (see gate/private_gate.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/limits.h"
#include "crl_common.h"
#include "gate/private_gate.h"

int crl_private_gate_start(const corral_ctx *ctx, const struct corral_rollout_options *ro, const char *model,
                           const char *listen, unsigned threads, struct crl_private_gate *pg,
                           struct corral_call *call)
{
    struct corral_gate_options go = {.struct_size = sizeof go, .unix_socket_path = pg->socket, .model = model,
                                     .threads = threads};
    struct crl_limits lim;
    crl_limits_get(ctx, &lim); /* the operator's "limits", not the agent's choice */
    crl_limits_gate_options(&lim, &go);
    if (ro && CORRAL_HAS_FIELD(ro, upstream_max_n) && ro->upstream_max_tokens)
        go.upstream_max_tokens = ro->upstream_max_tokens;
    if (ro && CORRAL_HAS_FIELD(ro, upstream_max_n) && ro->upstream_max_n)
        go.upstream_max_n = ro->upstream_max_n;
    char addr[64];
    if (listen) {
        if (crl_parse_host_port(listen, addr, sizeof addr, &go.port))
            return corral_call_fail(call, CORRAL_EINVAL, "gate listen address '%s' is not ADDR:PORT or [IPV6]:PORT",
                                    listen);
        go.bind_address = addr;
    }
    snprintf(pg->dir, sizeof pg->dir, "%s/corral-gate-XXXXXX", crl_gate_tmp_root());
    if (!mkdtemp(pg->dir)) {
        pg->dir[0] = '\0';
        return corral_call_fail(call, CORRAL_EIO, "cannot create a temporary directory for the gate: %s",
                                strerror(errno));
    }
    chmod(pg->dir, 0711);
    if (crl_gate_dir_claim(pg->dir) < 0) {
        corral_call_fail(call, CORRAL_EIO, "cannot write the owner file of the gate directory %s: %s", pg->dir,
                         strerror(errno));
        rmdir(pg->dir);
        pg->dir[0] = '\0';
        return CORRAL_EIO;
    }
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
        char owner[sizeof pg->dir + 8];
        snprintf(owner, sizeof owner, "%s/owner", pg->dir);
        unlink(pg->socket);
        unlink(owner);
        rmdir(pg->dir);
    }
    pg->dir[0] = '\0';
}
