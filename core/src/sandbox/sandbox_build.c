/* Images built from a task's Dockerfile on backends that build
 * (the build_image slot, docs/backends/docker.md "Building images"): the
 * context tar is made here with the project's archive code, honouring
 * .dockerignore, and named by its digest so an unchanged context is not
 * built twice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_internal.h"
#include "base/internal.h"
#include "crl_common.h"
#include "images/images_internal.h" /* crl_sha256_digest */
#include "sandbox/sandbox_internal.h"

/* The largest build context sent (held in memory to be digested first). */
#define CONTEXT_MAX ((size_t)512 << 20)
/* The largest .dockerignore read. */
#define IGNORE_MAX ((size_t)1 << 20)

int crl_sandbox_build(corral_ctx *ctx, const char *backend, int context_fd, const char *what, int64_t timeout_s,
                      void (*progress)(void *, const char *), void *ud, char **tag, struct corral_call *call)
{
    *tag = NULL;
    const struct corral_plugin_record *rec;
    const struct crl_sandbox_table *tbl;
    int rc = crl_sandbox_plugin(ctx, backend, &rec, &tbl, call);
    if (rc)
        return rc;
    const struct corral_sandbox_ops *ops = rec->desc->ops;
    if (!CORRAL_HAS(ops, build_image))
        return corral_call_fail(call, CORRAL_ENOTSUP,
                                "%s/Dockerfile: the %s backend cannot build images; use docker, or give "
                                "docker_image", what, rec->name);
    struct crl_dockerignore *ignore = NULL;
    size_t ilen = 0;
    int err = 0;
    char *itext = crl_read_file_at(context_fd, ".dockerignore", CRL_READ_NOFOLLOW, IGNORE_MAX, &ilen, &err);
    if (!itext && err != ENOENT)
        return corral_call_fail(call, CORRAL_EINVAL, "%s/.dockerignore: %s", what, crl_file_strerror(err));
    if (itext) {
        rc = crl_dockerignore_parse(itext, ilen, &ignore, call);
        free(itext);
        if (rc)
            return corral_call_fail(call, rc, "%s/%s", what, call->message);
    }
    struct crl_buf_sink bs = {.max = CONTEXT_MAX};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = crl_buf_sink_write, .ud = &bs};
    rc = crl_archive_context_at(context_fd, ignore, 0, &sink, call);
    crl_dockerignore_free(ignore);
    if (rc) {
        crl_buf_free(&bs.buf);
        return bs.over ? corral_call_fail(call, CORRAL_EINVAL, "%s: the build context is larger than %zu MiB", what,
                                          CONTEXT_MAX >> 20)
                       : corral_call_fail(call, rc, "%s: %s", what, call->message);
    }
    char digest[72], name[96];
    crl_sha256_digest(bs.buf.p ? bs.buf.p : "", bs.buf.len, digest);
    snprintf(name, sizeof name, "corral-build:%s", digest + strlen("sha256:"));
    struct sbx_memsrc ms = {.data = bs.buf.p ? bs.buf.p : "", .len = bs.buf.len};
    struct corral_source src = {.struct_size = sizeof src, .read = sbx_memsrc_read, .ud = &ms,
                                .length = (int64_t)bs.buf.len, .rewind = sbx_memsrc_rewind};
    struct corral_image_build req = {.struct_size = sizeof req, .tag = name, .dockerfile = "Dockerfile",
                                     .context = &src, .timeout_ms = timeout_s > 0 ? timeout_s * 1000 : 0,
                                     .progress = progress, .progress_ud = ud};
    rc = ops->build_image(rec->state, &req, call);
    crl_buf_free(&bs.buf);
    if (rc)
        return rc;
    if (!(*tag = strdup(name)))
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    return 0;
}
