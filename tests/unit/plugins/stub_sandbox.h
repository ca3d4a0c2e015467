/* The smallest sandbox that works: the mandatory ops of the test plugins
 * (testplug.c, abi10_plugin.c, abi11_plugin.c).  Include after
 * <corral/sandbox.h>, whichever ABI's copy the plugin is built from. */
#ifndef STUB_SANDBOX_H
#define STUB_SANDBOX_H
#include <stdlib.h>

struct corral_sbx {
    int unused;
};

static __attribute__((unused)) int t_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out,
                                            corral_call *call)
{
    (void)ps, (void)spec, (void)call;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : CORRAL_ENOMEM;
}

static __attribute__((unused)) int t_exec(corral_sbx *s, const struct corral_exec_request *req,
                                          struct corral_exec_result *res, corral_call *call)
{
    (void)s, (void)req, (void)call;
    res->exit_code = 0;
    return 0;
}

static __attribute__((unused)) int t_destroy(corral_sbx *s, corral_call *call)
{
    (void)s, (void)call;
    return 0;
}

static __attribute__((unused)) void t_close(corral_sbx *s)
{
    free(s);
}

static const struct corral_sandbox_ops stub_ops __attribute__((unused)) = {
    .struct_size = sizeof stub_ops,
    .create = t_create,
    .exec = t_exec,
    .destroy = t_destroy,
    .close = t_close,
};
#endif
