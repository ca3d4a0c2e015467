/* Harbor's task.toml `artifacts` entries: which sandbox paths may be
 * collected and where they may land (docs/harbor.md, "Artifacts"). */
#include <stdio.h>
#include <string.h>

#include "rollout/rollout_internal.h"

/* 1 when the '/'-separated path p has a ".." component. */
static int has_dotdot(const char *p)
{
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return 1;
        c += n;
        c += *c == '/';
    }
    return 0;
}

/* 1 when p is `root` or below it. */
static int under(const char *p, const char *root)
{
    size_t n = strlen(root);
    return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int crl_task_artifact_check(const char *source, const char *dest, char *why, size_t wl)
{
    if (!source || !source[0])
        return snprintf(why, wl, "source is empty"), -1;
    if (strpbrk(source, "\n\r") || (dest && strpbrk(dest, "\n\r")))
        return snprintf(why, wl, "a path has a line break"), -1;
    if (has_dotdot(source))
        return snprintf(why, wl, "source \"%s\" goes through \"..\"", source), -1;
    if (source[strspn(source, "/")] == '\0' || under(source, "/proc") || under(source, "/sys") ||
        under(source, "/dev"))
        return snprintf(why, wl, "source \"%s\" is outside what can be collected (not /, /proc, /sys, /dev)", source),
               -1;
    if (dest && dest[0]) {
        if (dest[0] == '/' || strchr(dest, '\\'))
            return snprintf(why, wl, "destination \"%s\" must be a relative path with '/' separators", dest), -1;
        if (has_dotdot(dest))
            return snprintf(why, wl, "destination \"%s\" goes through \"..\"", dest), -1;
        if (dest[strspn(dest, "/.")] == '\0')
            return snprintf(why, wl, "destination \"%s\" names no file or directory", dest), -1;
    }
    return 0;
}
