/* sandbox_docker: quiesce, SIGKILL every process in the container but its
 * PID 1 (corral's shim init, which keeps the container up), through the
 * shim run as root. */
#include "dk.h"

int dk_quiesce(corral_sbx *sbx, corral_call *call)
{
    const char *args[] = {"killall", NULL};
    int code = dk_shim_call(sbx, args, "0", call);
    if (code < 0)
        return code;
    if (code != 0)
        return sbx->p->host->fail(call, CORRAL_EIO, "processes in container %s survive SIGKILL (shim exit %d)",
                                  sbx->cid, code);
    return 0;
}
