/*
 * Manifests, indexes and image configs as registries serve them
 * (untrusted bytes, see docs/images.md): OCI image manifest and index,
 * Docker v2 schema 2 manifest and manifest list.  Every field used is
 * type-checked; digests must be sha256 and sizes whole numbers from 0
 * to 2^53.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "images/images_internal.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

int crl_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0)
        return 0;
    size_t i = 0;
    for (const char *p = d + 7; *p; p++, i++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return i == 64;
}

void crl_sha256_digest(const void *data, size_t len, char out[72])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

const char *crl_image_host_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "amd64";
#endif
}

static int bad(struct corral_call *call, const char *what)
{
    return corral_call_fail(call, CORRAL_EPROTO, "registry answer: %s", what);
}

static const char *str_field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A descriptor {mediaType, digest, size}; what names it in messages. */
static int descriptor(const cJSON *o, struct crl_descriptor *d, const char *what, struct corral_call *call)
{
    char msg[160];
    if (!cJSON_IsObject(o)) {
        snprintf(msg, sizeof msg, "%s is not an object", what);
        return bad(call, msg);
    }
    const char *mt = str_field(o, "mediaType");
    const char *dg = str_field(o, "digest");
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
    if (!dg || !crl_digest_valid(dg)) {
        snprintf(msg, sizeof msg, "%s has no sha256 digest", what);
        return bad(call, msg);
    }
    int64_t size;
    if (!cJSON_IsNumber(sz) || crl_number_i64(sz->valuedouble, 0, (int64_t)1 << 53, &size) != 0 ||
        sz->valuedouble != (double)size) {
        snprintf(msg, sizeof msg, "%s has no size (a whole number of bytes)", what);
        return bad(call, msg);
    }
    snprintf(d->media_type, sizeof d->media_type, "%s", mt && strlen(mt) < sizeof d->media_type ? mt : "");
    snprintf(d->digest, sizeof d->digest, "%s", dg);
    d->size = size;
    return 0;
}

static int layer_type_ok(const char *mt)
{
    static const char *const ok[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    };
    for (size_t i = 0; i < CRL_ARRAY_LEN(ok); i++)
        if (strcmp(mt, ok[i]) == 0)
            return 1;
    return 0;
}

static int parse_index(const cJSON *root, const char *arch, struct crl_manifest *m, struct corral_call *call)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "manifests"), *e;
    if (!cJSON_IsArray(ms))
        return bad(call, "the index has no manifests array");
    int found = 0;
    cJSON_ArrayForEach(e, ms) {
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(e, "platform");
        const char *os = str_field(pl, "os"), *ar = str_field(pl, "architecture");
        if (!os || !ar || strcmp(os, "linux") != 0 || strcmp(ar, arch) != 0)
            continue;
        int rc = descriptor(e, &m->chosen, "the index's manifest entry", call);
        if (rc)
            return rc;
        found = 1;
        break;
    }
    if (!found)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "the image has no linux/%s variant", arch);
    return 0;
}

static int parse_manifest(const cJSON *root, struct crl_manifest *m, struct corral_call *call)
{
    int rc = descriptor(cJSON_GetObjectItemCaseSensitive(root, "config"), &m->config, "the manifest's config", call);
    if (rc)
        return rc;
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "layers"), *l;
    if (!cJSON_IsArray(ls))
        return bad(call, "the manifest has no layers array");
    int n = cJSON_GetArraySize(ls);
    if (n > CRL_IMAGE_MAX_LAYERS)
        return bad(call, "the manifest has more than 1024 layers");
    m->layers = n ? calloc((size_t)n, sizeof *m->layers) : NULL;
    if (n && !m->layers)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    cJSON_ArrayForEach(l, ls) {
        struct crl_descriptor *d = &m->layers[m->nlayers];
        char what[48];
        snprintf(what, sizeof what, "layer %zu", m->nlayers + 1);
        if ((rc = descriptor(l, d, what, call)))
            return rc;
        if (!layer_type_ok(d->media_type))
            return corral_call_fail(call, CORRAL_ENOTSUP, "layer %zu has media type '%.100s', which corral cannot unpack",
                                    m->nlayers + 1, d->media_type[0] ? d->media_type : "(none)");
        m->nlayers++;
    }
    return 0;
}

int crl_manifest_parse(const char *body, size_t len, const char *content_type, const char *arch,
                       struct crl_manifest *m, struct corral_call *call)
{
    memset(m, 0, sizeof *m);
    if (len > CRL_IMAGE_MAX_JSON)
        return bad(call, "the manifest is larger than 4 MiB");
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bad(call, "the manifest is not a JSON object");
    }
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
    const char *mt = str_field(root, "mediaType");
    /* The body's mediaType wins; the header decides when it has none. */
    char ct[128] = "";
    if (content_type) {
        size_t k = strcspn(content_type, "; \t");
        if (k < sizeof ct) {
            memcpy(ct, content_type, k);
            ct[k] = '\0';
        }
    }
    if (!mt)
        mt = ct;
    int rc;
    if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
        rc = corral_call_fail(call, CORRAL_ENOTSUP, "registry answer: not a schema 2 manifest (schema 1 is not supported)");
    } else if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0 ||
               (!*mt && cJSON_GetObjectItemCaseSensitive(root, "manifests"))) {
        m->is_index = 1;
        rc = parse_index(root, arch, m, call);
    } else if (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0 ||
               (!*mt && cJSON_GetObjectItemCaseSensitive(root, "layers"))) {
        rc = parse_manifest(root, m, call);
    } else {
        rc = corral_call_fail(call, CORRAL_ENOTSUP, "registry answer: media type '%.100s' is not an image manifest", mt);
    }
    cJSON_Delete(root);
    if (rc)
        crl_manifest_free(m);
    return rc;
}

void crl_manifest_free(struct crl_manifest *m)
{
    free(m->layers);
    memset(m, 0, sizeof *m);
}

int crl_image_config_check(const char *body, size_t len, size_t nlayers, struct corral_call *call)
{
    if (len > CRL_IMAGE_MAX_JSON)
        return bad(call, "the image config is larger than 4 MiB");
    cJSON *root = cJSON_ParseWithLength(body, len);
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        rc = bad(call, "the image config is not a JSON object");
    } else {
        const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "rootfs");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rf, "diff_ids");
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
        if (ids && (!cJSON_IsArray(ids) || (size_t)cJSON_GetArraySize(ids) != nlayers))
            rc = bad(call, "the image config's rootfs.diff_ids does not match the manifest's layers");
        else if (cfg && !cJSON_IsObject(cfg) && !cJSON_IsNull(cfg))
            rc = bad(call, "the image config's config is not an object");
    }
    cJSON_Delete(root);
    return rc;
}
