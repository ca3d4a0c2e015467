/* sandbox_local: exec (run to completion, output streamed to the sinks). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

static const char base_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* argv and envp for req; both malloc'ed (free with crl_strv_free_array and
 * crl_strv_wipe_array). */
static int build_command(corral_sbx *sbx, const struct corral_exec_request *req, char ***argv, char ***envp,
                         corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    *argv = NULL;
    *envp = NULL;
    if (req->shell) {
        const char *const sh[] = {"/bin/sh", "-c", req->shell, NULL};
        *argv = crl_strv_dup(sh);
    } else {
        if (!req->argv || !req->argv[0] || !req->argv[0][0])
            return h->fail(call, CORRAL_EINVAL, "exec needs an argv or a shell string");
        *argv = crl_strv_dup(req->argv);
    }
    if (!*argv)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");

    /* The host's environment never leaks in: a fixed base, then the
     * sandbox's default env, then the request's. */
    struct crl_strv env = {0};
    char *home = NULL;
    int oom = asprintf(&home, "HOME=%s", sbx->meta.workdir) < 0;
    if (!oom)
        oom = local_env_set(&env, base_path) < 0 || local_env_set(&env, home) < 0 ||
              local_env_set(&env, "LANG=C.UTF-8") < 0;
    free(home);
    for (size_t i = 0; !oom && sbx->env && sbx->env[i]; i++)
        oom = local_env_set(&env, sbx->env[i]) < 0;
    for (size_t i = 0; !oom && req->env && req->env[i]; i++) {
        if (!crl_is_env_entry(req->env[i])) {
            crl_strv_wipe_array(env.v);
            crl_strv_free_array(*argv);
            *argv = NULL;
            /* Print the name only: the value may be a secret. */
            const char *eq = strchr(req->env[i], '=');
            return h->fail(call, CORRAL_EINVAL, "bad environment entry (name '%.*s')",
                           eq ? (int)(eq - req->env[i]) : 0, req->env[i]);
        }
        oom = local_env_set(&env, req->env[i]) < 0;
    }
    if (oom) {
        crl_strv_wipe_array(env.v);
        crl_strv_free_array(*argv);
        *argv = NULL;
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    *envp = env.v;
    return 0;
}

static const char *norm_user(const char *u)
{
    return u && !strcmp(u, "root") ? "0" : u;
}

/* CORRAL_ENOTSUP (with a message) when req->user asks for another user
 * than the sandbox's, else 0. */
static int check_user(corral_sbx *sbx, const struct corral_exec_request *req, corral_call *call)
{
    if (!CORRAL_HAS_FIELD(req, user) || !req->user || !req->user[0])
        return 0;
    /* The sandbox user: spec.user, else the caller's uid (bwrap's default). */
    char self[32];
    snprintf(self, sizeof(self), "%u", (unsigned)getuid());
    const char *have = sbx->meta.user ? norm_user(sbx->meta.user) : self;
    const char *want = norm_user(req->user);
    size_t uid_len = strcspn(have, ":");
    if (!strcmp(want, have) || (strlen(want) == uid_len && !strncmp(want, have, uid_len)))
        return 0;
    return sbx->lp->host->fail(call, CORRAL_ENOTSUP,
                               "local: commands run as the sandbox's user (%s); per-command user '%s' is not "
                               "supported",
                               have, req->user);
}

int local_command_prepare(corral_sbx *sbx, const struct corral_exec_request *req, const char *what,
                          struct local_command *cmd, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    *cmd = (struct local_command){0};
    if (!req)
        return h->fail(call, CORRAL_EINVAL, "%s: no request", what);
    local_orphans_reap(sbx->lp);
    if (local_is_paused(sbx->dir))
        return h->fail(call, CORRAL_ESTATE, "local sandbox %s is paused", sbx->meta.id);
    int rc = check_user(sbx, req, call);
    if (!rc)
        rc = build_command(sbx, req, &cmd->argv, &cmd->envp, call);
    if (rc)
        return rc;
    const char *c = req->cwd && req->cwd[0] ? req->cwd : sbx->meta.workdir;
    if (c[0] != '/' ? asprintf(&cmd->cwd, "%s/%s", sbx->meta.workdir, c) < 0 : !(cmd->cwd = strdup(c))) {
        cmd->cwd = NULL;
        local_command_free(cmd);
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    return 0;
}

void local_command_free(struct local_command *cmd)
{
    crl_strv_free_array(cmd->argv);
    crl_strv_wipe_array(cmd->envp);
    free(cmd->cwd);
    *cmd = (struct local_command){0};
}

int local_launch_fail(corral_sbx *sbx, int stage, int err, const char *what, const char *cwd, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (stage == LOCAL_STAGE_JOIN && !local_holder_alive(&sbx->meta))
        return h->fail(call, CORRAL_ENOTFOUND, "local sandbox %s is gone (TTL or destroy)", sbx->meta.id);
    if (stage == LOCAL_STAGE_CWD)
        return h->fail(call, err == ENOENT ? CORRAL_ENOTFOUND : CORRAL_EIO, "%s: cwd %s: %s", what, cwd,
                       strerror(err));
    if (stage == LOCAL_STAGE_STDIO)
        return h->fail(call, CORRAL_EIO, "%s: output file: %s", what, strerror(err));
    return h->fail(call, CORRAL_EIO, "%s: could not enter sandbox %s (stage %d): %s", what, sbx->meta.id, stage,
                   strerror(err));
}

void local_fill_result(struct corral_exec_result *res, int status, int timed_out, int64_t duration_ms)
{
    int code = 0, sig = 0;
    if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        sig = WTERMSIG(status);
        code = 128 + sig;
    }
    if (timed_out)
        code = 124;
    if (!res)
        return;
    if (CORRAL_HAS_FIELD(res, exit_code))
        res->exit_code = code;
    if (CORRAL_HAS_FIELD(res, signal))
        res->signal = sig;
    if (CORRAL_HAS_FIELD(res, timed_out))
        res->timed_out = timed_out ? 1 : 0;
    if (CORRAL_HAS_FIELD(res, duration_ms))
        res->duration_ms = duration_ms;
}

static int sink_write(const struct corral_sink *s, const void *buf, size_t len)
{
    if (!s || !s->write)
        return 0;
    return s->write(s->ud, buf, len);
}

/* Write to the stdin pipe without letting SIGPIPE hit the host process:
 * block it in this thread, and swallow one that our write raised. */
ssize_t local_write_nosigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigset_t pending;
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    ssize_t w = write(fd, buf, len);
    int e = errno;
    if (w < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

int64_t local_now_ms(const struct corral_host *h)
{
    if (h && h->now_ms)
        return h->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int local_exec(corral_sbx *sbx, const struct corral_exec_request *req, struct corral_exec_result *res,
               corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    struct local_command cmd;
    int rc = local_command_prepare(sbx, req, "exec", &cmd, call);
    if (rc)
        return rc;

    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
    const unsigned char *in_data = req->stdin_data;
    size_t in_len = in_data ? req->stdin_len : 0, in_off = 0;
    if ((in_len > 0 && pipe2(inp, O_CLOEXEC) < 0) || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        rc = h->fail(call, CORRAL_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    struct local_launch l = {.argv = cmd.argv, .envp = cmd.envp, .cwd = cmd.cwd, .stdin_fd = inp[0],
                             .stdout_fd = outp[1], .stderr_fd = errp[1], .limits = &sbx->meta.limits};
    pid_t pid;
    int pidfd, stage, err;
    int64_t start = local_now_ms(h);
    rc = local_launch(sbx, &l, &pid, &pidfd, &stage, &err, call);
    for (int i = 0; i < 2; i++) {
        int *p = i ? outp + 1 : errp + 1;
        close(*p);
        *p = -1;
    }
    if (inp[0] >= 0) {
        close(inp[0]);
        inp[0] = -1;
    }
    if (rc)
        goto out;
    if (stage) {
        if (stage == LOCAL_STAGE_EXEC) {
            /* Like a shell: the command is not there -> 127 and a message. */
            char msg[512];
            int n = snprintf(msg, sizeof(msg), "corral: %s: %s\n", cmd.argv[0], strerror(err));
            sink_write(req->err, msg, n > 0 ? (size_t)n : 0);
            local_fill_result(res, (err == ENOENT ? 127 : 126) << 8, 0, local_now_ms(h) - start);
            rc = 0;
        } else {
            rc = local_launch_fail(sbx, stage, err, "exec", cmd.cwd, call);
        }
        goto out;
    }
    if (inp[1] >= 0)
        fcntl(inp[1], F_SETFL, O_NONBLOCK);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);

    int64_t limit = req->timeout_ms > 0 ? start + req->timeout_ms : INT64_MAX;
    int exited = 0, status = 0, timed_out = 0, killed = 0;
    int64_t kill_at = 0;
    enum { IOBUF = 65536 };
    char *iobuf = malloc(IOBUF);
    if (!iobuf) {
        kill(-pid, SIGKILL);
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    while (!rc && (!exited || outp[0] >= 0 || errp[0] >= 0)) {
        int64_t now = local_now_ms(h);
        int64_t left = h->remaining_ms ? h->remaining_ms(call) : INT64_MAX;
        int cancelled = h->cancelled && h->cancelled(call);
        if (!killed && (now >= limit || left <= 0 || cancelled)) {
            kill(-pid, SIGKILL);
            killed = 1;
            kill_at = now;
            if (now >= limit && !exited)
                timed_out = 1;
            else if (!exited)
                rc = cancelled ? h->fail(call, CORRAL_ECANCELED, "exec cancelled")
                               : h->fail(call, CORRAL_ETIMEDOUT, "exec: the call's deadline passed");
            if (rc)
                break;
        }
        /* Processes that escaped the group may hold the pipes: after a
         * kill, give the output a short grace and stop. */
        if (killed && exited && now - kill_at > 2000)
            break;
        int64_t wait = killed ? 100 : limit - now;
        if (left < wait)
            wait = left;
        if (wait > 200)
            wait = 200;
        if (wait < 0)
            wait = 0;
        struct pollfd fds[4];
        int nf = 0, iout = -1, ierr = -1, iin = -1, ipid = -1;
        if (outp[0] >= 0) {
            fds[nf] = (struct pollfd){outp[0], POLLIN, 0};
            iout = nf++;
        }
        if (errp[0] >= 0) {
            fds[nf] = (struct pollfd){errp[0], POLLIN, 0};
            ierr = nf++;
        }
        if (inp[1] >= 0) {
            fds[nf] = (struct pollfd){inp[1], POLLOUT, 0};
            iin = nf++;
        }
        if (!exited) {
            fds[nf] = (struct pollfd){pidfd, POLLIN, 0};
            ipid = nf++;
        }
        int pr = poll(fds, (nfds_t)nf, (int)wait);
        if (pr < 0 && errno != EINTR) {
            kill(-pid, SIGKILL);
            rc = h->fail(call, CORRAL_EIO, "poll: %s", strerror(errno));
            break;
        }
        if (pr <= 0)
            continue;
        for (int k = 0; k < 2 && !rc; k++) {
            int idx = k ? ierr : iout;
            int *fd = k ? &errp[0] : &outp[0];
            if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(*fd, iobuf, IOBUF);
            if (r > 0) {
                int s = sink_write(k ? req->err : req->out, iobuf, (size_t)r);
                if (s < 0) {
                    kill(-pid, SIGKILL);
                    rc = h->fail(call, s, "exec: output sink refused data");
                }
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(*fd);
                *fd = -1;
            }
        }
        if (iin >= 0 && fds[iin].revents) {
            ssize_t w = (fds[iin].revents & POLLOUT) ? local_write_nosigpipe(inp[1], in_data + in_off, in_len - in_off)
                                                     : -1;
            if (w > 0)
                in_off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off >= in_len) {
                close(inp[1]);
                inp[1] = -1;
            }
        }
        if (ipid >= 0 && (fds[ipid].revents & POLLIN)) {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            exited = 1;
            if (inp[1] >= 0) {
                close(inp[1]);
                inp[1] = -1;
            }
        }
    }
    free(iobuf);
    if (!exited) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    close(pidfd);
    if (!rc)
        local_fill_result(res, status, timed_out, local_now_ms(h) - start);
out:
    for (int i = 0; i < 2; i++) {
        if (inp[i] >= 0)
            close(inp[i]);
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    local_command_free(&cmd);
    return rc;
}
