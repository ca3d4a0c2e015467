/* sandbox_local: background jobs (spawn / job_wait / job_kill / job_free).
 * A job is our own child (see join.c) in its own process group inside the
 * sandbox; it is waited through a pidfd, so waits need no polling. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

struct corral_job {
    pid_t pid;             /* also the process group id */
    int pidfd;
    int done;              /* reaped: status is valid */
    int status;
    int timed_out;
    int64_t start_ms;
    int64_t limit_ms;      /* INT64_MAX = none */
    int64_t end_ms;
};

int local_spawn(corral_sbx *sbx, const struct corral_exec_request *req, corral_job **job, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    *job = NULL;
    struct local_command cmd;
    int rc = local_command_prepare(sbx, req, "spawn", &cmd, call);
    if (rc)
        return rc;
    struct corral_job *j = calloc(1, sizeof(*j));
    int inp[2] = {-1, -1};
    if (!j) {
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
        goto out;
    }
    /* stdin: the bytes must fit into the pipe up front (no pump thread). */
    if (req->stdin_data && req->stdin_len > 0) {
        if (pipe2(inp, O_CLOEXEC) < 0) {
            rc = h->fail(call, CORRAL_EIO, "pipe: %s", strerror(errno));
            goto out;
        }
        if (req->stdin_len > 65536)
            fcntl(inp[1], F_SETPIPE_SZ, (int)(req->stdin_len < (1u << 20) ? req->stdin_len : (1u << 20)));
        fcntl(inp[1], F_SETFL, O_NONBLOCK);
        ssize_t w = write(inp[1], req->stdin_data, req->stdin_len);
        if (w < 0 || (size_t)w != req->stdin_len) {
            rc = h->fail(call, CORRAL_EINVAL, "spawn: stdin of %zu bytes does not fit a pipe; use a file",
                         req->stdin_len);
            goto out;
        }
        close(inp[1]);
        inp[1] = -1;
    }
    struct local_launch l = {.argv = cmd.argv, .envp = cmd.envp, .cwd = cmd.cwd, .stdin_fd = inp[0], .stdout_fd = -1,
                             .stderr_fd = -1, .out_path = req->out_path, .err_path = req->err_path,
                             .limits = &sbx->meta.limits};
    int stage, err;
    j->start_ms = local_now_ms(NULL);
    rc = local_launch(sbx, &l, &j->pid, &j->pidfd, &stage, &err, call);
    if (rc)
        goto out;
    if (stage == LOCAL_STAGE_EXEC) {
        /* Report it the way a shell would: the job ended with 127/126. */
        j->done = 1;
        j->status = (err == ENOENT ? 127 : 126) << 8;
        j->pidfd = -1;
        j->pid = -1;
        j->end_ms = j->start_ms;
    } else if (stage) {
        rc = local_launch_fail(sbx, stage, err, "spawn", cmd.cwd, call);
        goto out;
    }
    j->limit_ms = req->timeout_ms > 0 ? j->start_ms + req->timeout_ms : INT64_MAX;
    *job = j;
    j = NULL;
out:
    if (inp[0] >= 0)
        close(inp[0]);
    if (inp[1] >= 0)
        close(inp[1]);
    free(j);
    local_command_free(&cmd);
    return rc;
}

static void reap(struct corral_job *j)
{
    int st = 0;
    while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
        ;
    j->status = st;
    j->done = 1;
    j->end_ms = local_now_ms(NULL);
    close(j->pidfd);
    j->pidfd = -1;
}

int local_job_wait(corral_sbx *sbx, corral_job *j, int64_t timeout_ms, struct corral_exec_result *res,
                   corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (!j)
        return h->fail(call, CORRAL_EINVAL, "job_wait: no job");
    int64_t until = timeout_ms > 0 ? local_now_ms(NULL) + timeout_ms : local_now_ms(NULL);
    while (!j->done) {
        int64_t now = local_now_ms(NULL);
        if (now >= j->limit_ms) {
            /* The job outlived its own timeout: kill its group. */
            kill(-j->pid, SIGKILL);
            j->timed_out = 1;
            reap(j);
            break;
        }
        int64_t wait = until - now;
        if (j->limit_ms - now < wait)
            wait = j->limit_ms - now;
        int64_t left = h->remaining_ms ? h->remaining_ms(call) : INT64_MAX;
        if (left < wait)
            wait = left;
        if (wait > 200)
            wait = 200;
        if (wait < 0)
            wait = 0;
        struct pollfd p = {j->pidfd, POLLIN, 0};
        int pr = poll(&p, 1, (int)wait);
        if (pr > 0) {
            reap(j);
            break;
        }
        if (pr < 0 && errno != EINTR)
            return h->fail(call, CORRAL_EIO, "poll: %s", strerror(errno));
        now = local_now_ms(NULL);
        if (h->cancelled && h->cancelled(call))
            return h->fail(call, CORRAL_ECANCELED, "job_wait cancelled");
        if (now >= until || (h->remaining_ms && h->remaining_ms(call) <= 0)) {
            if (now < j->limit_ms)
                return h->fail(call, CORRAL_ETIMEDOUT, "job %d is still running", (int)j->pid);
        }
    }
    local_fill_result(res, j->status, j->timed_out, j->end_ms - j->start_ms);
    return 0;
}

int local_job_kill(corral_sbx *sbx, corral_job *j, corral_call *call)
{
    (void)call;
    (void)sbx;
    /* An unreaped leader keeps its pid (and so the group id) ours. */
    if (j && !j->done && j->pid > 0)
        kill(-j->pid, SIGKILL);
    return 0;
}

void local_orphan_add(struct local_plugin *lp, pid_t pid)
{
    pthread_mutex_lock(&lp->lock);
    if (lp->n_orphans == lp->cap_orphans) {
        size_t cap = lp->cap_orphans ? lp->cap_orphans * 2 : 8;
        pid_t *nv = realloc(lp->orphans, cap * sizeof(*nv));
        if (nv) {
            lp->orphans = nv;
            lp->cap_orphans = cap;
        }
    }
    if (lp->n_orphans < lp->cap_orphans)
        lp->orphans[lp->n_orphans++] = pid;
    pthread_mutex_unlock(&lp->lock);
}

void local_orphans_reap(struct local_plugin *lp)
{
    pthread_mutex_lock(&lp->lock);
    for (size_t i = 0; i < lp->n_orphans;) {
        int st;
        pid_t r = waitpid(lp->orphans[i], &st, WNOHANG);
        if (r == lp->orphans[i] || (r < 0 && errno == ECHILD))
            lp->orphans[i] = lp->orphans[--lp->n_orphans];
        else
            i++;
    }
    pthread_mutex_unlock(&lp->lock);
}

void local_job_free(corral_sbx *sbx, corral_job *j)
{
    if (!j)
        return;
    /* Reap it if it has ended; otherwise (still running, or killed but not
     * dead yet: a frozen task dies only once thawed) remember it and reap
     * it later, never blocking here. */
    if (!j->done && j->pid > 0) {
        int st;
        pid_t r;
        while ((r = waitpid(j->pid, &st, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (r == 0)
            local_orphan_add(sbx->lp, j->pid);
    }
    if (j->pidfd >= 0)
        close(j->pidfd);
    free(j);
}
