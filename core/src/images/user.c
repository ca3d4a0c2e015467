/*
 * The image config's User as numeric ids (docs/images.md "Running
 * images"): a name is looked up in the image's own /etc/passwd and
 * /etc/group (untrusted text), never in the host's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/images_internal.h"

/* The largest passwd or group file read (bytes). */
#define MAX_DB ((size_t)4 << 20)

static int numeric(const char *s, uint32_t *out)
{
    int64_t v;
    if (!s[0] || strspn(s, "0123456789") != strlen(s) || crl_parse_i64(s, 0, 4294967294LL, &v) != 0)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* In db (lines "name:x:id:..." of a passwd or group file), the line whose
 * field `key` (0: the name, 2: the id) equals want: its third field into
 * *id and, for a passwd line, its fourth into *gid.  1 found, 0 not. */
static int lookup(const char *db, int key, const char *want, uint32_t *id, uint32_t *gid)
{
    for (const char *line = db; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024], *f[4] = {0};
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            char *p = buf;
            int n = 0;
            for (; n < 4 && p; n++) {
                f[n] = p;
                p = strchr(p, ':');
                if (p)
                    *p++ = '\0';
            }
            uint32_t a, b;
            if (n >= 3 && f[0][0] && f[0][0] != '#' && !strcmp(f[key], want) && numeric(f[2], &a)) {
                if (gid && !(f[3] && numeric(f[3], &b)))
                    goto next;
                *id = a;
                if (gid)
                    *gid = b;
                return 1;
            }
        }
    next:
        line = end ? end + 1 : NULL;
    }
    return 0;
}

int crl_image_user_ids(const char *user, const char *passwd, const char *group, uint32_t *uid, uint32_t *gid,
                       struct corral_call *call)
{
    char u[256];
    const char *colon = strchr(user, ':');
    size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
    if (ulen == 0 || ulen >= sizeof u || (colon && !colon[1]))
        return corral_call_fail(call, CORRAL_EINVAL, "its config's User '%.80s' is not USER[:GROUP]", user);
    memcpy(u, user, ulen);
    u[ulen] = '\0';
    const char *g = colon ? colon + 1 : NULL;
    uint32_t pw_gid = 0, same;
    if (numeric(u, uid)) {
        /* As Docker: a numeric uid's group is its passwd entry's, else 0. */
        lookup(passwd ? passwd : "", 2, u, &same, &pw_gid);
    } else if (!lookup(passwd ? passwd : "", 0, u, uid, &pw_gid)) {
        return corral_call_fail(call, CORRAL_EINVAL, "its config's User '%.80s' is not in the image's /etc/passwd",
                                u);
    }
    if (!g) {
        *gid = pw_gid;
        return 0;
    }
    if (numeric(g, gid) || lookup(group ? group : "", 0, g, gid, NULL))
        return 0;
    return corral_call_fail(call, CORRAL_EINVAL, "its config's group '%.80s' is not in the image's /etc/group", g);
}

/* etc/<name> below the root filesystem rootfd, no symlink followed
 * (NULL when absent or unreadable: a name then is not found). */
static char *read_etc(int rootfd, const char *name)
{
    int etc = openat(rootfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (etc < 0)
        return NULL;
    int err = 0;
    char *text = crl_read_file_at(etc, name, CRL_READ_NOFOLLOW, MAX_DB, NULL, &err);
    close(etc);
    return text;
}

int crl_image_user_resolve(struct corral_image_run *run, struct corral_call *call)
{
    char *out = run->user_ids;
    size_t cap = sizeof run->user_ids;
    out[0] = '\0';
    if (!run->user || !run->user[0])
        return 0;
    int rootfd = open(run->info.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return corral_call_fail(call, CORRAL_EIO, "image %s: its root filesystem cannot be opened", run->info.name);
    char *passwd = read_etc(rootfd, "passwd");
    char *group = read_etc(rootfd, "group");
    close(rootfd);
    uint32_t uid = 0, gid = 0;
    struct corral_call why;
    corral_call_init(&why, 0);
    int rc = crl_image_user_ids(run->user, passwd, group, &uid, &gid, &why);
    free(passwd);
    free(group);
    if (rc)
        return corral_call_fail(call, rc, "image %s: %s", run->info.name, why.message);
    if (uid || gid)
        snprintf(out, cap, "%u:%u", (unsigned)uid, (unsigned)gid);
    return 0;
}
