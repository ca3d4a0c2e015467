/* The private gates' directories under the temporary dir: where they are
 * made, the owner file that ties each to the corral process that made it,
 * and their collection once that process is gone (`corral gc`). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <corral/gate.h>

#include "crl_common.h"
#include "gate/private_gate.h"

static const char prefix[] = "corral-gate-";
static const char owner_name[] = "owner";

const char *crl_gate_tmp_root(void)
{
    /* $TMPDIR when it is absolute and short enough for a unix socket path
     * under it (sun_path is 108 bytes), else /tmp. */
    const char *t = getenv("TMPDIR");
    if (t && t[0] == '/' && strlen(t) <= 40 && !strstr(t, "/../"))
        return t;
    return "/tmp";
}

int crl_gate_dir_claim(const char *dir)
{
    char tok[300], path[128];
    if (crl_owner_token(tok, sizeof tok) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s", dir, owner_name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    size_t n = strlen(tok);
    tok[n++] = '\n';
    int rc = write(fd, tok, n) == (ssize_t)n ? 0 : -1;
    close(fd);
    return rc;
}

/* Whether a gate dir's unix socket still has a listener. */
static int socket_live(int dfd)
{
    char path[sizeof((struct sockaddr_un *)0)->sun_path];
    snprintf(path, sizeof path, "/proc/self/fd/%d/gate.sock", dfd);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 1; /* cannot tell: keep it */
    int live = connect(s, (struct sockaddr *)&a, sizeof a) == 0 || (errno != ECONNREFUSED && errno != ENOENT);
    close(s);
    return live;
}

/* 1 when the gate dir (an open fd) belongs to a corral process that is
 * gone.  Without an owner file (made by an older corral, or being made
 * right now) it is stale only when a minute old and its socket is dead. */
static int dir_stale(int dfd, const struct stat *st)
{
    char tok[320];
    int fd = openat(dfd, owner_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
        ssize_t n = read(fd, tok, sizeof tok - 1);
        close(fd);
        if (n > 0) {
            tok[n] = '\0';
            tok[strcspn(tok, "\n")] = '\0';
            return crl_owner_gone(tok) == 1;
        }
    }
    return time(NULL) - st->st_mtime > 60 && !socket_live(dfd);
}

int corral_gate_dirs_gc(int dry_run, corral_gate_dir_cb cb, void *ud)
{
    const char *root = crl_gate_tmp_root();
    DIR *d = opendir(root);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, sizeof prefix - 1) != 0)
            continue;
        int dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (dfd < 0)
            continue;
        /* Only our own: another user's gate is not ours to judge. */
        if (fstat(dfd, &st) < 0 || st.st_uid != geteuid() || !dir_stale(dfd, &st)) {
            close(dfd);
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, de->d_name);
        if (!dry_run) {
            /* A gate dir holds only files (the socket, the owner file). */
            DIR *in = fdopendir(dfd);
            struct dirent *e;
            while (in && (e = readdir(in)) != NULL)
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    unlinkat(dirfd(in), e->d_name, 0);
            if (in)
                closedir(in);
            else
                close(dfd);
            if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
                continue;
        } else {
            close(dfd);
        }
        removed++;
        if (cb)
            cb(ud, path);
    }
    closedir(d);
    return removed;
}
