/*
 * corral_image_pull: a reference resolved against the configured mirrors
 * and then its registry, its manifest (through an index to this host's
 * platform), config and layers fetched and verified into the cache, the
 * layers unpacked once, the reference recorded.  See docs/images.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "images/images_internal.h"

/* Docker's rule: registries on the loopback are spoken to over http. */
static int loopback(const char *registry)
{
    size_t n = strcspn(registry, registry[0] == '[' ? "]" : ":");
    return (n == 9 && strncmp(registry, "localhost", 9) == 0) || strncmp(registry, "127.", 4) == 0 ||
           strncmp(registry, "[::1]", 5) == 0;
}

/* GET manifests/<ref>: the body, its digest and Content-Type. */
static int get_manifest(struct crl_registry *r, const char *ref, struct corral_http_response *resp, char digest[72],
                        char *ctype, size_t ccap, struct corral_call *call)
{
    char what[200];
    snprintf(what, sizeof what, "manifests/%s", ref);
    int rc = crl_registry_get(r, what, CRL_MANIFEST_ACCEPT, NULL, CRL_IMAGE_MAX_JSON, resp, call);
    if (rc)
        return rc;
    crl_sha256_digest(resp->body, resp->body_len, digest);
    ctype[0] = '\0';
    crl_http_header_value(resp->headers, "Content-Type", ctype, ccap);
    return 0;
}

static int pull_from(corral_ctx *ctx, struct crl_image_cache *c, const struct corral_image_ref *ref, const char *name,
                     const char *base, const char *login_host, const struct crl_pull_progress *p,
                     struct corral_image_info *info, struct corral_call *call)
{
    struct crl_registry r;
    int rc = crl_registry_init(&r, base, login_host, ref->repository, crl_images_stall_ms(ctx), call);
    if (rc)
        return rc;
    crl_pull_note(p, "pulling %s from %s", name, base);
    struct corral_http_response resp = {0};
    struct crl_manifest m = {0};
    char digest[72], ctype[160];
    rc = get_manifest(&r, ref->digest[0] ? ref->digest : ref->tag, &resp, digest, ctype, sizeof ctype, call);
    if (!rc && ref->digest[0] && strcmp(digest, ref->digest) != 0)
        rc = corral_call_fail(call, CORRAL_EPROTO, "%s: the manifest's digest is %s, not the %s asked for", r.host,
                              digest, ref->digest);
    if (!rc)
        rc = crl_manifest_parse(resp.body, resp.body_len, ctype, crl_image_host_arch(), &m, call);
    if (!rc && m.is_index) {
        struct crl_descriptor chosen = m.chosen;
        crl_manifest_free(&m);
        crl_http_response_free(&resp);
        crl_pull_note(p, "  index: linux/%s is %.19s", crl_image_host_arch(), chosen.digest);
        rc = get_manifest(&r, chosen.digest, &resp, digest, ctype, sizeof ctype, call);
        if (!rc && strcmp(digest, chosen.digest) != 0)
            rc = corral_call_fail(call, CORRAL_EPROTO, "%s: the manifest's digest is %s, not the index's %s", r.host,
                                  digest, chosen.digest);
        if (!rc)
            rc = crl_manifest_parse(resp.body, resp.body_len, ctype, crl_image_host_arch(), &m, call);
        if (!rc && m.is_index)
            rc = corral_call_fail(call, CORRAL_EPROTO, "%s: an index names another index", r.host);
    }
    if (!rc && !crl_cache_has_blob(c, digest))
        rc = crl_cache_put_blob(c, digest, resp.body, resp.body_len, call);
    crl_http_response_free(&resp);
    if (!rc)
        rc = crl_cache_fetch_blob(c, &r, &m.config, p, call);
    if (!rc) {
        size_t len = 0;
        char *cfg = crl_cache_read_blob(c, m.config.digest, CRL_IMAGE_MAX_JSON, &len, call);
        rc = cfg ? crl_image_config_check(cfg, len, m.nlayers, call) : CORRAL_EIO;
        free(cfg);
    }
    int64_t total = 0;
    for (size_t i = 0; !rc && i < m.nlayers; i++) {
        crl_pull_note(p, "  layer %zu of %zu", i + 1, m.nlayers);
        rc = crl_cache_fetch_blob(c, &r, &m.layers[i], p, call);
        total += m.layers[i].size;
    }
    crl_registry_free(&r);
    if (!rc)
        rc = crl_image_unpack(c, digest, &m, p, call);
    if (!rc)
        rc = crl_refs_put(c, name, digest, call);
    if (!rc && info) {
        memset(info, 0, sizeof *info);
        snprintf(info->name, sizeof info->name, "%s", name);
        snprintf(info->digest, sizeof info->digest, "%s", digest);
        snprintf(info->config_digest, sizeof info->config_digest, "%s", m.config.digest);
        snprintf(info->rootfs, sizeof info->rootfs, "%s/rootfs/%s", c->root, digest + 7);
        info->size = total;
        info->layers = (int64_t)m.nlayers;
        info->pulled = (int64_t)time(NULL);
    }
    crl_manifest_free(&m);
    return rc;
}

void crl_mirror_host(const char *url, char *host, size_t cap)
{
    const char *h = strstr(url, "://");
    snprintf(host, cap, "%.*s", h ? (int)strcspn(h + 3, "/") : 0, h ? h + 3 : "");
}

int crl_image_each_source(corral_ctx *ctx, const struct corral_image_ref *ref, crl_image_source_fn fn, void *ud,
                          struct corral_call *call)
{
    /* Mirrors first, in order, then the registry itself. */
    int rc = 0;
    const cJSON *mirrors = crl_images_mirrors(ctx, ref->registry), *u;
    cJSON_ArrayForEach(u, mirrors) {
        if (!cJSON_IsString(u))
            continue;
        char host[300];
        crl_mirror_host(u->valuestring, host, sizeof host);
        rc = fn(ud, u->valuestring, host, call);
        if (!rc || corral_call_cancelled(call))
            return rc;
        corral_log(CORRAL_LOG_WARN, "image", "mirror %s: %s; trying the next source", u->valuestring,
                   call ? call->message : corral_strerror(rc));
        if (call) {
            call->status = 0;
            call->message[0] = '\0';
        }
    }
    const char *host = strcmp(ref->registry, "docker.io") == 0 ? "registry-1.docker.io" : ref->registry;
    int http = crl_images_insecure(ctx, ref->registry) || loopback(ref->registry);
    char base[320];
    snprintf(base, sizeof base, "%s://%s", http ? "http" : "https", host);
    return fn(ud, base, ref->registry, call);
}

struct pull_job {
    corral_ctx *ctx;
    struct crl_image_cache *c;
    const struct corral_image_ref *ref;
    const char *name;
    const struct crl_pull_progress *p;
    struct corral_image_info *out;
};

static int pull_source(void *ud, const char *base, const char *login_host, struct corral_call *call)
{
    struct pull_job *j = ud;
    return pull_from(j->ctx, j->c, j->ref, j->name, base, login_host, j->p, j->out, call);
}

int corral_image_pull(corral_ctx *ctx, const char *text, const struct corral_image_pull_options *opts,
                      struct corral_image_info *out, struct corral_call *call)
{
    struct corral_image_ref ref;
    char name[600];
    int rc = crl_image_ref_named(text, &ref, name, sizeof name, call);
    if (rc)
        return rc;
    struct crl_pull_progress p = {0};
    if (opts && CORRAL_HAS_FIELD(opts, progress_ud)) {
        p.fn = opts->progress;
        p.ud = opts->progress_ud;
    }
    struct crl_image_cache c;
    if ((rc = crl_cache_open(ctx, 0, &c, call)))
        return rc;
    struct pull_job j = {.ctx = ctx, .c = &c, .ref = &ref, .name = name, .p = &p, .out = out};
    rc = crl_image_each_source(ctx, &ref, pull_source, &j, call);
    crl_cache_close(&c);
    if (rc && call) {
        char msg[sizeof call->message];
        snprintf(msg, sizeof msg, "%s", call->message);
        corral_call_fail(call, rc, "pull %s: %s", name, msg);
    }
    return rc;
}
