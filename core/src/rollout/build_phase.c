/* The image of a task that has only environment/Dockerfile: built on the
 * rollout's backend before its sandbox is created (docs/harbor.md,
 * docs/backends/docker.md "Building images"). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rollout/rollout_internal.h"
#include "sandbox/sandbox_internal.h"

/* Harbor's default build_timeout_sec. */
#define DEFAULT_BUILD_TIMEOUT_S 600

static void build_progress(void *ud, const char *line)
{
    crl_rollout_progress(ud, "build: %s", line);
}

int crl_rollout_build_image(struct rollout *r)
{
    const struct corral_task *t = r->task;
    if (r->plan.image || !t || !t->has_dockerfile)
        return 0;
    int fd;
    int st = crl_task_open_dir(t, "environment", &fd, r->call);
    if (st)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_TASK, st, "%s", r->call->message);
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "%s/environment", t->dir);
    int64_t timeout = t->build_timeout_s > 0 ? t->build_timeout_s : DEFAULT_BUILD_TIMEOUT_S;
    crl_rollout_progress(r, "building the image of %s/Dockerfile on %s", what, r->plan.backend);
    st = crl_sandbox_build(r->ctx, r->plan.backend, fd, what, timeout, build_progress, r, &r->built_image, r->call);
    close(fd);
    if (st)
        /* The task's own doing: a build step that failed, a backend that
         * cannot build, a bad .dockerignore; the rest is infrastructure. */
        return crl_rollout_fail(r, st == CORRAL_EINVAL || st == CORRAL_ENOTSUP || st == CORRAL_ETIMEDOUT
                                       ? CORRAL_ROLLOUT_ERR_TASK : CORRAL_ROLLOUT_ERR_INFRA,
                                st, "%s", r->call->message);
    r->plan.image = r->built_image;
    crl_rollout_progress(r, "image %s", r->built_image);
    return 0;
}
