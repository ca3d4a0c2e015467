/* libFuzzer: what a registry sends (manifests, indexes, image configs,
 * WWW-Authenticate challenges), image references, and an image's
 * /etc/passwd and /etc/group with the config's User, through the image
 * code's parsers.  The first byte picks the parser; whatever is accepted
 * must hold the invariants the cache relies on (digests that are safe
 * file names, sizes from 0 to 2^53, a bounded layer count). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/images_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 5;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char *s = malloc(len + 1);
    if (!s)
        return 0;
    memcpy(s, body, len);
    s[len] = '\0';
    struct corral_call call;
    corral_call_init(&call, 0);
    if (mode == 0) {
        struct crl_manifest m;
        static const char *const types[] = {NULL, "application/vnd.oci.image.index.v1+json",
                                            "application/vnd.docker.distribution.manifest.v2+json"};
        if (crl_manifest_parse(body, len, types[len % 3], "amd64", &m, &call) == 0) {
            if (m.is_index ? !crl_digest_valid(m.chosen.digest) : !crl_digest_valid(m.config.digest))
                abort();
            if (m.nlayers > CRL_IMAGE_MAX_LAYERS)
                abort();
            for (size_t i = 0; i < m.nlayers; i++)
                if (!crl_digest_valid(m.layers[i].digest) || m.layers[i].size < 0)
                    abort();
            crl_manifest_free(&m);
        }
    } else if (mode == 1) {
        crl_image_config_check(body, len, len % 5, &call);
    } else if (mode == 2) {
        struct crl_www_auth a;
        if (crl_www_auth_parse(s, &a) == 0 && (!a.scheme[0] || memchr(a.realm, '\0', sizeof a.realm) == NULL))
            abort();
    } else if (mode == 4) {
        /* The first line is the User, the rest both passwd and group. */
        char *nl = strchr(s, '\n');
        const char *db = nl ? nl + 1 : "";
        if (nl)
            *nl = '\0';
        uint32_t uid, gid;
        if (crl_image_user_ids(s, db, db, &uid, &gid, &call) != 0 && !call.message[0])
            abort(); /* a refusal always says why */
    } else {
        struct corral_image_ref r;
        if (corral_image_ref_parse(s, &r, &call) == 0) {
            char buf[700];
            if (corral_image_ref_format(&r, buf, sizeof buf) < 0)
                abort();
            if (r.digest[0] && !crl_digest_valid(r.digest))
                abort();
            /* The canonical form parses back to itself. */
            struct corral_image_ref again;
            char buf2[700];
            if (corral_image_ref_parse(buf, &again, &call) != 0 ||
                corral_image_ref_format(&again, buf2, sizeof buf2) < 0 || strcmp(buf, buf2) != 0)
                abort();
        }
    }
    free(s);
    return 0;
}
