/*
 * sandbox_hostproc: an example corral sandbox plugin.  It runs commands as
 * plain child processes in a private directory under `root_dir`, with no
 * isolation at all: it demonstrates the ABI, nothing more.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corral/sandbox.h>

/* The plugin's state.  The host allocates it (descriptor.state_size),
 * fills root_dir from the config before hp_init runs (the option is bound
 * to it below), passes it to every op and frees it after the plugin is
 * done: this plugin has nothing to free itself, so it has no fini. */
struct plugin_state {
    const struct corral_host *host; /* the host's services, from init2 */
    const char *root_dir;           /* bound option, borrowed from the host */
};

struct corral_sbx {
    const struct corral_host *host;
    char dir[512];
};

static int hp_init(const struct corral_host *host, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg, (void)call;
    struct plugin_state *ps = state;
    ps->host = host;
    return 0;
}

static int hp_create(void *state, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    struct plugin_state *ps = state;
    const struct corral_host *host = ps->host;
    corral_sbx *s = calloc(1, sizeof *s);
    if (!s)
        return host->fail(call, CORRAL_ENOMEM, "out of memory");
    s->host = host;
    snprintf(s->dir, sizeof s->dir, "%s/%s", ps->root_dir, spec->id);
    if (mkdir(ps->root_dir, 0700) != 0 && errno != EEXIST) {
        free(s);
        return host->fail(call, CORRAL_EIO, "hostproc: cannot create %s: %s", ps->root_dir, strerror(errno));
    }
    if (mkdir(s->dir, 0700) != 0) {
        int e = errno;
        free(s);
        return host->fail(call, e == EEXIST ? CORRAL_EEXIST : CORRAL_EIO, "hostproc: cannot create sandbox dir: %s",
                          strerror(e));
    }
    *out = s;
    return 0;
}

/* Copy a pipe's bytes to a sink; returns 0 at EOF, 1 if more may come, <0 on error. */
static int drain(int fd, const struct corral_sink *sink)
{
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : CORRAL_EIO;
    if (n == 0)
        return 0;
    if (sink && sink->write(sink->ud, buf, (size_t)n) < 0)
        return CORRAL_ECANCELED;
    return 1;
}

static int hp_exec(corral_sbx *s, const struct corral_exec_request *req, struct corral_exec_result *res,
                   corral_call *call)
{
    const struct corral_host *host = s->host;
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
        return host->fail(call, CORRAL_EIO, "hostproc: pipe: %s", strerror(errno));
    int64_t start = host->now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* its own process group, so a timeout kills all of it */
        dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
        if (chdir(req->cwd ? req->cwd : s->dir) != 0)
            _exit(126);
        for (const char *const *e = req->env; e && *e; e++)
            putenv((char *)*e); /* values travel in the environment, never in argv */
        if (req->shell)
            execl("/bin/sh", "sh", "-c", req->shell, (char *)NULL);
        else
            execvp(req->argv[0], (char *const *)req->argv);
        _exit(127);
    }
    close(in[0]), close(out[1]), close(err[1]);
    if (pid < 0)
        return host->fail(call, CORRAL_EIO, "hostproc: fork: %s", strerror(errno));
    setpgid(pid, pid);
    if (req->stdin_len && write(in[1], req->stdin_data, req->stdin_len) < 0) {
        /* the command may not read its stdin: not an error */
    }
    close(in[1]);

    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    const struct corral_sink *sinks[2] = {req->out, req->err};
    int open_fds = 2, timed_out = 0;
    while (open_fds) {
        int64_t wait = host->remaining_ms(call);
        if (req->timeout_ms > 0 && start + req->timeout_ms - host->now_ms() < wait)
            wait = start + req->timeout_ms - host->now_ms();
        if (wait <= 0) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, wait > 1000 ? 1000 : (int)wait) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++)
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) && drain(fds[i].fd, sinks[i]) <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int status = 0;
    waitpid(pid, &status, 0);
    kill(-pid, SIGKILL); /* whatever the command left behind in its group */
    res->duration_ms = host->now_ms() - start;
    res->timed_out = timed_out;
    if (timed_out) {
        res->exit_code = 124;
        res->signal = SIGKILL;
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        res->exit_code = 128 + res->signal;
    } else {
        res->exit_code = WEXITSTATUS(status);
    }
    return 0;
}

static int hp_destroy(corral_sbx *s, corral_call *call)
{
    const struct corral_host *host = s->host;
    const char *argv[] = {"rm", "-rf", "--", s->dir, NULL};
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .cwd = "/"};
    struct corral_exec_result res = {.struct_size = sizeof res};
    int r = hp_exec(s, &req, &res, call);
    if (r == 0 && res.exit_code != 0)
        return host->fail(call, CORRAL_EIO, "hostproc: could not remove %s", s->dir);
    return r;
}

static void hp_close(corral_sbx *s)
{
    free(s);
}

static const struct corral_sandbox_ops ops = {
    .struct_size = sizeof ops,
    .caps = 0,
    .create = hp_create,
    .exec = hp_exec,
    .destroy = hp_destroy,
    .close = hp_close,
};

/* The config schema.  CORRAL_OPT_BIND: the host stores the value at the
 * offset in the state; CORRAL_OPT_MIN 1 on a string: it must not be empty
 * (the host refuses the plugin with a message naming the file and key). */
static const struct corral_option options[] = {
    {"root_dir", CORRAL_OPT_STRING, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "\"/tmp/corral-hostproc\"",
     "directory holding one subdirectory per sandbox", offsetof(struct plugin_state, root_dir), 1, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

static const struct corral_plugin descriptor = {
    .struct_size = sizeof descriptor,
    .abi_version = CORRAL_ABI(1, 1), /* the version this file implements: a literal */
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "hostproc",
    .version = "1.0.0",
    .description = "example: host child processes in a private directory (NO isolation)",
    .options = options,
    .option_size = sizeof options[0],
    .ops = &ops,
    .init2 = hp_init,
    .state_size = sizeof(struct plugin_state),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer);

const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    /* Speak ABI major 1 only; decline politely otherwise. */
    return corral_offer_host(offer, 1) ? &descriptor : NULL;
}
