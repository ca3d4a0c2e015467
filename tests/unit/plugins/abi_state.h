/* What the ABI side-by-side test plugins saw, as their state: the test
 * reads it through the plugin record to check that init ran and that the
 * options arrived.  Shared by abi10_plugin.c (built from the frozen 1.0
 * headers in abi10/) and abi11_plugin.c (built from the current ones). */
#ifndef ABI_STATE_H
#define ABI_STATE_H
#include <stdint.h>

struct corral_host;

/* abi10: allocated by the plugin's init(), options read with accessors. */
struct abi10_state {
    int inits;
    uint32_t host_abi;          /* host->abi_version while init ran */
    const char *endpoint;
    int64_t retries;
};

/* abi11: allocated by the host (state_size); options bound by the host. */
struct abi11_state {
    /* bound options */
    const char *endpoint;
    int64_t retries;
    double ratio;
    int verbose;
    const char *const *tags;
    const char *name;           /* REQUIRED */
    /* set by init2 */
    const struct corral_host *host;
    uint32_t host_abi;
    int inits;
    int bound_before_init;      /* endpoint and name were filled when init2 ran */
};
#endif
