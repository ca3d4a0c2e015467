/* Which paths may be a sandbox's working directory: the one rule for a
 * task's "workdir" and `corral sandbox create --workdir` (crl_common.h). */
#include <string.h>

#include "crl_common.h"

const char *crl_workdir_refusal(const char *path)
{
    /* The workspace is hydrated there and the agent owns it, so never / or
     * a system tree the sandbox needs (asking for /etc or /proc is a
     * mistake or worse). */
    static const char *const system[] = {"/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib",
                                         "/lib64", "/lib32", "/boot", "/run", "/var/run", "/tests", "/logs"};
    if (!path || path[0] != '/')
        return "must be an absolute path";
    size_t n = strnlen(path, CRL_WORKDIR_MAX + 1);
    if (n > CRL_WORKDIR_MAX)
        return "must be at most 4095 bytes long";
    if (strstr(path, "/../") || strstr(path, "/./") || (n >= 3 && !strcmp(path + n - 3, "/..")) ||
        (n >= 2 && !strcmp(path + n - 2, "/.")))
        return "must not have \".\" or \"..\" components";
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n <= 1)
        return "must not be / itself";
    for (size_t i = 0; i < sizeof system / sizeof system[0]; i++) {
        size_t k = strlen(system[i]);
        if (n >= k && strncmp(path, system[i], k) == 0 && (n == k || path[k] == '/'))
            return "must not be a system directory (/proc, /sys, /dev, /etc, /usr, /bin, /lib*, /boot, /run, "
                   "/tests, /logs) or under one";
    }
    return NULL;
}
