/* Where a backend that pulls images itself (docker) gets one from: the
 * configured mirrors of its registry first, then the registry, each with
 * the credentials of ~/.docker/config.json / $DOCKER_CONFIG as Docker's
 * X-Registry-Auth value (docs/images.md "Mirrors and credentials"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/images_config.h"
#include "images/images_internal.h"

/* *out = base64url (no padding) of {"username","password","serveraddress"},
 * or {"identitytoken","serveraddress"} for a login that is an identity
 * token (malloc'ed, a secret), or NULL when the host holds no login for
 * `host`. */
static int registry_auth(const char *host, char **out, struct corral_call *call)
{
    struct crl_login l;
    *out = NULL;
    int rc = crl_registry_login_read(host, &l, call);
    if (rc <= 0) {
        crl_login_wipe(&l);
        return rc;
    }
    cJSON *j = cJSON_CreateObject();
    if (l.identity_token) {
        cJSON_AddStringToObject(j, "identitytoken", l.identity_token);
    } else {
        cJSON_AddStringToObject(j, "username", l.user);
        cJSON_AddStringToObject(j, "password", l.pass);
    }
    cJSON_AddStringToObject(j, "serveraddress", host);
    crl_login_wipe(&l);
    char *text = cJSON_PrintUnformatted(j);
    cJSON *a;
    cJSON_ArrayForEach(a, j) /* the tree holds the secrets too */
        explicit_bzero(a->valuestring, strlen(a->valuestring));
    cJSON_Delete(j);
    char *b = text ? crl_b64_encode(text, strlen(text)) : NULL;
    crl_wipe_free(text);
    if (!b)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    for (char *c = b; *c; c++) /* base64url: Docker decodes X-Registry-Auth with the URL alphabet */
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    b[strcspn(b, "=")] = '\0';
    *out = b;
    return 0;
}

/* Append {ref, auth of login_host}; 0 or a negative status. */
static int add(struct crl_image_sources *s, const char *ref, const char *login_host, struct corral_call *call)
{
    if (s->n == CRL_IMAGE_SOURCES_MAX)
        return 0;
    struct corral_image_source *e = &s->v[s->n];
    e->ref = strdup(ref);
    if (!e->ref)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    char *auth = NULL;
    int rc = registry_auth(login_host, &auth, call);
    e->registry_auth = auth;
    s->n++;
    return rc;
}

int crl_image_sources_make(corral_ctx *ctx, const char *image, struct crl_image_sources *out,
                           struct corral_call *call)
{
    memset(out, 0, sizeof *out);
    struct corral_image_ref ref;
    char name[600], tail[500];
    int rc = crl_image_ref_named(image, &ref, name, sizeof name, call);
    if (rc)
        return rc;
    if (ref.digest[0])
        snprintf(tail, sizeof tail, "%s@%s", ref.repository, ref.digest);
    else
        snprintf(tail, sizeof tail, "%s:%s", ref.repository, ref.tag);
    const cJSON *mirrors = crl_images_mirrors(ctx, ref.registry), *u;
    cJSON_ArrayForEach(u, mirrors) {
        if (!cJSON_IsString(u))
            continue;
        char host[300], mref[900];
        crl_mirror_host(u->valuestring, host, sizeof host);
        if (!host[0])
            continue;
        snprintf(mref, sizeof mref, "%s/%s", host, tail);
        if ((rc = add(out, mref, host, call)) != 0)
            break;
    }
    if (!rc)
        rc = add(out, name, ref.registry, call);
    if (rc)
        crl_image_sources_free(out);
    return rc;
}

void crl_image_sources_free(struct crl_image_sources *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free((char *)s->v[i].ref);
        crl_wipe_free((char *)s->v[i].registry_auth);
    }
    memset(s, 0, sizeof *s);
}
