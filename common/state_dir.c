/* Where corral keeps state on this host: the one rule the sandbox registry
 * (core/src/sandbox/sandbox_registry.c) and the local backend's sandboxes
 * (plugins/sandbox/local/state.c) share, so that both always sit side by
 * side and the documentation can state it once. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crl_common.h"

int crl_state_root(char *buf, size_t cap)
{
    const char *env = getenv("CORRAL_STATE_DIR");
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && env[0] && env[0] != '/')
        return -1; /* corral's own variable: a relative one is a mistake, not a default */
    if (env && env[0] == '/')
        n = snprintf(buf, cap, "%s", env);
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/corral", xdg);
    else if (geteuid() == 0)
        n = snprintf(buf, cap, "/var/lib/corral");
    else if (home && home[0] == '/')
        n = snprintf(buf, cap, "%s/.local/state/corral", home);
    else
        return -1;
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int crl_cache_root(char *buf, size_t cap)
{
    const char *env = getenv("CORRAL_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && env[0] && env[0] != '/')
        return -1;
    if (env && env[0] == '/')
        n = snprintf(buf, cap, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(buf, cap, "/var/cache/corral");
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/corral", xdg);
    else if (home && home[0] == '/')
        n = snprintf(buf, cap, "%s/.cache/corral", home);
    else
        n = snprintf(buf, cap, "/tmp/corral-cache-%u", (unsigned)geteuid());
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
