/* Finding corral's helper executables (corral-forward, corral-holder):
 * $CORRAL_LIBEXEC_DIR, next to the running executable (the build tree's
 * bin/), then the installed libexec directory. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crl_common.h"

#ifndef CORRAL_LIBEXEC_DIR
#define CORRAL_LIBEXEC_DIR "/usr/libexec/corral"
#endif

int crl_find_libexec(const char *name, char *buf, size_t cap)
{
    const char *env = getenv("CORRAL_LIBEXEC_DIR");
    if (env && *env) {
        snprintf(buf, cap, "%s/%s", env, name);
        if (access(buf, X_OK) == 0)
            return 0;
    }
    char self[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, cap, "%s/%s", self, name);
            if (access(buf, X_OK) == 0)
                return 0;
        }
    }
    snprintf(buf, cap, "%s/%s", CORRAL_LIBEXEC_DIR, name);
    return access(buf, X_OK) == 0 ? 0 : -1;
}
