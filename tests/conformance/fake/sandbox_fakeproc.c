/*
 * sandbox_fakeproc: a TEST DOUBLE for the conformance suite and the host
 * layer's tests.  It is not shipped and isolates nothing: a "sandbox" is a
 * directory under $FAKEPROC_ROOT (default /tmp/corral-fakeproc) and
 * commands run as plain host child processes in their own process group.
 * It implements only the mandatory slots plus state/attach/running/list/
 * remove, so every file, archive and job operation goes through the host's
 * exec-based emulation.
 *
 * FAKEPROC_BROKEN=<mode> makes it misbehave so tests can prove the suite
 * fails on a broken plugin: exit0 (every exit status reported as 0),
 * nogroupkill (a timeout kills only the direct child, not its group),
 * noenv (request env is dropped), stdin (stdin is never fed).
 */
#include <corral/sandbox.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The plugin's state (ABI 1.1: allocated by the host, filled by init2). */
struct fp_plugin {
    const struct corral_host *host;
};
#define HOST(ps) (((const struct fp_plugin *)(ps))->host)

struct corral_sbx {
    const struct corral_host *host;
    char dir[512];   /* <root>/<id> */
    char ws[600];    /* <dir>/ws: the default cwd */
    char **env;      /* default env "K=V" */
};

static const char *root_dir(void)
{
    const char *r = getenv("FAKEPROC_ROOT");
    return r && *r ? r : "/tmp/corral-fakeproc";
}

static int broken(const char *mode)
{
    const char *b = getenv("FAKEPROC_BROKEN");
    return b && strcmp(b, mode) == 0;
}

static char **strv_dup(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **o = calloc(n + 1, sizeof *o);
    for (size_t i = 0; o && i < n; i++)
        o[i] = strdup(v[i]);
    return o;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static corral_sbx *sbx_new(const char *dir, const struct corral_host *host)
{
    corral_sbx *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->host = host;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->ws, sizeof s->ws, "%s/ws", dir);
    return s;
}

static int fp_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    const struct corral_host *H = HOST(ps);
    char dir[512];
    mkdir(root_dir(), 0700);
    snprintf(dir, sizeof dir, "%s/%s", root_dir(), spec->id);
    if (mkdir(dir, 0700) != 0)
        return H->fail(call, errno == EEXIST ? CORRAL_EEXIST : CORRAL_EIO, "mkdir %s: %s", dir, strerror(errno));
    corral_sbx *s = sbx_new(dir, H);
    mkdir(s->ws, 0755);
    char lp[600];
    snprintf(lp, sizeof lp, "%s/labels", dir);
    FILE *f = fopen(lp, "w");
    for (size_t i = 0; f && spec->labels && spec->labels[i]; i++)
        fprintf(f, "%s\n", spec->labels[i]);
    if (f)
        fclose(f);
    s->env = strv_dup(spec->env);
    /* Default env survives for attach() in other processes (a 0600 file,
     * NUL-separated; a real backend keeps it in its own store). */
    char ep[600];
    snprintf(ep, sizeof ep, "%s/env", dir);
    int fd = open(ep, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    for (size_t i = 0; fd >= 0 && spec->env && spec->env[i]; i++)
        if (write(fd, spec->env[i], strlen(spec->env[i]) + 1) < 0)
            break;
    if (fd >= 0)
        close(fd);
    *out = s;
    return 0;
}

static char **load_env(const char *dir)
{
    char ep[600], buf[65536];
    snprintf(ep, sizeof ep, "%s/env", dir);
    int fd = open(ep, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    size_t cnt = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            cnt++;
    char **v = calloc(cnt + 1, sizeof *v);
    size_t k = 0;
    for (char *p = buf; v && p < buf + n && k < cnt; p += strlen(p) + 1)
        v[k++] = strdup(p);
    return v;
}

/* state JSON: {"dir":"<path>"} (paths here never need escaping). */
static int fp_state(corral_sbx *s, char **json, corral_call *call)
{
    (void)call;
    size_t n = strlen(s->dir) + 16;
    *json = malloc(n);
    snprintf(*json, n, "{\"dir\":\"%s\"}", s->dir);
    return 0;
}

static int parse_state(const char *json, char *dir, size_t cap)
{
    const char *p = json ? strstr(json, "\"dir\":\"") : NULL;
    if (!p)
        return -1;
    p += 7;
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return -1;
    memcpy(dir, p, (size_t)(e - p));
    dir[e - p] = '\0';
    return 0;
}

static int fp_attach(void *ps, const char *state_json, corral_sbx **out, corral_call *call)
{
    const struct corral_host *H = HOST(ps);
    char dir[512];
    struct stat st;
    if (parse_state(state_json, dir, sizeof dir) != 0)
        return H->fail(call, CORRAL_EINVAL, "bad fakeproc state");
    if (stat(dir, &st) != 0)
        return H->fail(call, CORRAL_ENOTFOUND, "fakeproc sandbox %s is gone", dir);
    *out = sbx_new(dir, H);
    (*out)->env = load_env(dir);
    return 0;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static int fp_exec(corral_sbx *s, const struct corral_exec_request *req, struct corral_exec_result *res,
                   corral_call *call)
{
    const struct corral_host *H = s->host;
    int pin[2], pout[2], perr[2];
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
        return H->fail(call, CORRAL_EIO, "pipe: %s", strerror(errno));
    int64_t t0 = H->now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return H->fail(call, CORRAL_EIO, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        signal(SIGPIPE, SIG_DFL);
        if (chdir(req->cwd ? req->cwd : s->ws) != 0) {
            fprintf(stderr, "fakeproc: chdir %s: %s\n", req->cwd ? req->cwd : s->ws, strerror(errno));
            _exit(127);
        }
        for (size_t i = 0; s->env && s->env[i]; i++)
            putenv(s->env[i]);
        for (size_t i = 0; !broken("noenv") && req->env && req->env[i]; i++)
            putenv((char *)req->env[i]);
        if (req->argv) {
            execvp(req->argv[0], (char *const *)req->argv);
        } else {
            execl("/bin/sh", "sh", "-c", req->shell, (char *)NULL);
        }
        fprintf(stderr, "fakeproc: exec: %s\n", strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    set_nonblock(pin[1]);
    set_nonblock(pout[0]);
    set_nonblock(perr[0]);
    size_t in_off = 0, in_len = broken("stdin") ? 0 : req->stdin_len;
    if (in_len == 0 || !req->stdin_data) {
        close(pin[1]);
        pin[1] = -1;
    }
    int status = 0, exited = 0, timed_out = 0, rc = 0;
    int64_t limit = req->timeout_ms > 0 ? t0 + req->timeout_ms : 0;
    char buf[65536];
    while (!exited || pout[0] >= 0 || perr[0] >= 0) {
        struct pollfd fds[3];
        int nf = 0;
        if (pout[0] >= 0)
            fds[nf++] = (struct pollfd){ pout[0], POLLIN, 0 };
        if (perr[0] >= 0)
            fds[nf++] = (struct pollfd){ perr[0], POLLIN, 0 };
        if (pin[1] >= 0)
            fds[nf++] = (struct pollfd){ pin[1], POLLOUT, 0 };
        int64_t now = H->now_ms(), wait = 50;
        if (limit && now >= limit && !timed_out) {
            timed_out = 1;
            if (broken("nogroupkill"))
                kill(pid, SIGKILL);
            else
                kill(-pid, SIGKILL);
        }
        if (H->remaining_ms(call) <= 0 || H->cancelled(call)) {
            kill(-pid, SIGKILL);
            rc = H->fail(call, CORRAL_ETIMEDOUT, "the call's deadline passed");
        }
        poll(fds, (nfds_t)nf, (int)wait);
        for (int i = 0; i < nf; i++) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == pin[1]) {
                ssize_t w = write(pin[1], (const char *)req->stdin_data + in_off, in_len - in_off);
                if (w > 0)
                    in_off += (size_t)w;
                if (w < 0 && errno != EAGAIN)
                    in_off = in_len;
                if (in_off >= in_len) {
                    close(pin[1]);
                    pin[1] = -1;
                }
                continue;
            }
            int *fdp = fds[i].fd == pout[0] ? &pout[0] : &perr[0];
            const struct corral_sink *sink = fdp == &pout[0] ? req->out : req->err;
            ssize_t n = read(*fdp, buf, sizeof buf);
            if (n > 0 && sink && sink->write) {
                int wr = sink->write(sink->ud, buf, (size_t)n);
                if (wr && !rc)
                    rc = wr;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                close(*fdp);
                *fdp = -1;
            }
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
        /* Output still open after the child exited belongs to a
         * background grandchild: stop at the timeout. */
        if (exited && limit && H->now_ms() >= limit)
            break;
        if (rc)
            break;
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    if (pin[1] >= 0)
        close(pin[1]);
    if (pout[0] >= 0)
        close(pout[0]);
    if (perr[0] >= 0)
        close(perr[0]);
    if (rc)
        return rc;
    res->duration_ms = H->now_ms() - t0;
    if (timed_out) {
        res->exit_code = 124;
        res->timed_out = 1;
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        res->exit_code = 128 + res->signal;
    } else {
        res->exit_code = WEXITSTATUS(status);
    }
    if (broken("exit0")) {
        res->exit_code = 0;
        res->signal = 0;
    }
    return 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static int rm_rf(const char *dir)
{
    return nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int fp_destroy(corral_sbx *s, corral_call *call)
{
    (void)call;
    rm_rf(s->dir);
    return 0;
}

static void fp_close(corral_sbx *s)
{
    strv_free(s->env);
    free(s);
}

static int fp_running(corral_sbx *s, corral_call *call)
{
    (void)call;
    struct stat st;
    return stat(s->dir, &st) == 0 ? 1 : 0;
}

static int fp_remove(void *ps, const char *state_json, corral_call *call)
{
    const struct corral_host *H = HOST(ps);
    char dir[512];
    if (parse_state(state_json, dir, sizeof dir) != 0)
        return H->fail(call, CORRAL_EINVAL, "bad fakeproc state");
    rm_rf(dir);
    return 0;
}

static int label_match(char **labels, const char *f)
{
    const char *eq = strchr(f, '=');
    size_t kl = eq ? (size_t)(eq - f) : strlen(f);
    for (size_t i = 0; labels[i]; i++)
        if (strncmp(labels[i], f, kl) == 0 && labels[i][kl] == '=' && (!eq || strcmp(labels[i] + kl + 1, eq + 1) == 0))
            return 1;
    return 0;
}

static int fp_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    (void)ps;
    (void)call;
    DIR *d = opendir(root_dir());
    if (!d)
        return 0;
    struct dirent *e;
    int stop = 0;
    while (!stop && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[512], lp[600], line[1024];
        snprintf(dir, sizeof dir, "%s/%s", root_dir(), e->d_name);
        snprintf(lp, sizeof lp, "%s/labels", dir);
        FILE *f = fopen(lp, "r");
        if (!f)
            continue;
        char *labels[64] = { 0 };
        size_t n = 0;
        while (n < 63 && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            labels[n++] = strdup(line);
        }
        fclose(f);
        int ok = 1;
        for (size_t i = 0; filters && filters[i]; i++)
            if (!label_match(labels, filters[i]))
                ok = 0;
        if (ok) {
            char state[600];
            snprintf(state, sizeof state, "{\"dir\":\"%s\"}", dir);
            struct corral_sandbox_info info = { sizeof info, e->d_name, "running", (const char *const *)labels, state };
            stop = cb(ud, &info);
        }
        for (size_t i = 0; i < n; i++)
            free(labels[i]);
    }
    closedir(d);
    return 0;
}

static const struct corral_sandbox_ops OPS = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_CONCURRENT | CORRAL_CAP_PERSISTENT,
    .create = fp_create,
    .exec = fp_exec,
    .destroy = fp_destroy,
    .close = fp_close,
    .state = fp_state,
    .attach = fp_attach,
    .running = fp_running,
    .list = fp_list,
    .remove = fp_remove,
};

static int fp_init(const struct corral_host *host, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg, (void)call;
    ((struct fp_plugin *)state)->host = host;
    return 0;
}

static const struct corral_plugin DESC = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "fakeproc",
    .version = "0.0.1",
    .description = "TEST DOUBLE: host child processes in a temp dir, no isolation (not shipped)",
    .option_size = sizeof(struct corral_option),
    .ops = &OPS,
    .init2 = fp_init,
    .state_size = sizeof(struct fp_plugin),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    return corral_offer_host(offer, 1) ? &DESC : NULL;
}
