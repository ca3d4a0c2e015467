/*
 * Registry authentication inputs: the WWW-Authenticate challenge of a 401
 * (RFC 7235 auth-params, as the distribution token spec uses them) and
 * logins from Docker's config.json "auths" (docs/images.md).  Secrets are
 * kept in memory only as long as needed, wiped when freed, never logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "images/images_internal.h"

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int is_token_char(char c)
{
    return c > ' ' && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

int crl_www_auth_parse(const char *value, struct crl_www_auth *out)
{
    memset(out, 0, sizeof *out);
    if (!value)
        return -1;
    const char *p = skip_ws(value);
    size_t n = 0;
    while (is_token_char(p[n]))
        n++;
    if (n == 0 || n >= sizeof out->scheme)
        goto fail;
    memcpy(out->scheme, p, n);
    p = skip_ws(p + n);
    while (*p) {
        char key[32];
        size_t k = 0;
        while (is_token_char(p[k]))
            k++;
        if (k == 0 || p[k] != '=')
            break; /* another challenge, or token68: the first one ends here */
        size_t kl = k < sizeof key ? k : sizeof key - 1;
        memcpy(key, p, kl);
        key[kl] = '\0';
        p += k + 1;
        char *dst = NULL;
        size_t cap = 0;
        if (strcasecmp(key, "realm") == 0)
            dst = out->realm, cap = sizeof out->realm;
        else if (strcasecmp(key, "service") == 0)
            dst = out->service, cap = sizeof out->service;
        else if (strcasecmp(key, "scope") == 0)
            dst = out->scope, cap = sizeof out->scope;
        size_t o = 0;
        if (*p == '"') {
            p++;
            for (;; p++) {
                if (!*p)
                    goto fail; /* unterminated */
                if (*p == '"')
                    break;
                if (*p == '\\') {
                    p++;
                    if (!*p)
                        goto fail;
                }
                if ((unsigned char)*p < ' ')
                    goto fail;
                if (dst) {
                    if (o + 1 >= cap)
                        goto fail;
                    dst[o++] = *p;
                }
            }
            p++;
        } else {
            size_t v = 0;
            while (is_token_char(p[v]) || p[v] == '/' || p[v] == ':')
                v++;
            if (v == 0)
                goto fail;
            if (dst) {
                if (v >= cap)
                    goto fail;
                memcpy(dst, p, v);
                o = v;
            }
            p += v;
        }
        if (dst)
            dst[o] = '\0';
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p)
            goto fail;
    }
    return 0;
fail:
    memset(out, 0, sizeof *out);
    return -1;
}

/* The host an "auths" key names: its scheme and path dropped, Docker's
 * index names mapped to docker.io. */
static void auths_key_host(const char *key, char *out, size_t cap)
{
    const char *h = key;
    if (strncmp(h, "https://", 8) == 0)
        h += 8;
    else if (strncmp(h, "http://", 7) == 0)
        h += 7;
    size_t n = strcspn(h, "/");
    snprintf(out, cap, "%.*s", (int)n, h);
    if (!strcmp(out, "index.docker.io") || !strcmp(out, "registry-1.docker.io"))
        snprintf(out, cap, "docker.io");
}

/* The login of one "auths" entry into *l: 1 when it has a user and
 * password or an identity token, 0 when neither, or a failure. */
static int login_from(const cJSON *e, struct crl_login *l, const char *file, struct corral_call *call)
{
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(e, "identitytoken");
    if (cJSON_IsString(tok) && tok->valuestring[0] && !(l->identity_token = strdup(tok->valuestring)))
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    char **user = &l->user, **pass = &l->pass;
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(e, "auth");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "username");
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(e, "password");
    if (cJSON_IsString(auth) && auth->valuestring[0]) {
        size_t n = strlen(auth->valuestring);
        unsigned char *dec = malloc(n / 4 * 3 + 4);
        if (!dec)
            return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        long m = crl_b64_decode(auth->valuestring, n, dec);
        if (m < 0) {
            free(dec);
            return corral_call_fail(call, CORRAL_ECONFIG, "%s: an \"auth\" entry is not base64", file);
        }
        dec[m] = '\0';
        char *colon = memchr(dec, ':', (size_t)m);
        int rc = 0;
        if (!colon || strlen((char *)dec) != (size_t)m) {
            rc = corral_call_fail(call, CORRAL_ECONFIG, "%s: an \"auth\" entry is not user:password", file);
        } else {
            *colon = '\0';
            *user = strdup((char *)dec);
            *pass = strdup(colon + 1);
            if (!*user || !*pass)
                rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        }
        explicit_bzero(dec, (size_t)m);
        free(dec);
        return rc ? rc : 1;
    }
    if (cJSON_IsString(u) && cJSON_IsString(pw)) {
        *user = strdup(u->valuestring);
        *pass = strdup(pw->valuestring);
        if (!*user || !*pass)
            return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        return 1;
    }
    return l->identity_token ? 1 : 0;
}

void crl_login_wipe(struct crl_login *l)
{
    crl_wipe_free(l->user);
    crl_wipe_free(l->pass);
    crl_wipe_free(l->identity_token);
    memset(l, 0, sizeof *l);
}

int crl_registry_login_read(const char *host, struct crl_login *l, struct corral_call *call)
{
    memset(l, 0, sizeof *l);
    char file[4096];
    const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
    if (dc && *dc)
        snprintf(file, sizeof file, "%s/config.json", dc);
    else if (home && *home)
        snprintf(file, sizeof file, "%s/.docker/config.json", home);
    else
        return 0;
    int err = 0;
    size_t len = 0;
    char *text = crl_read_file_max(file, (size_t)1 << 20, &len, &err);
    if (!text)
        return err == ENOENT ? 0
                             : corral_call_fail(call, CORRAL_ECONFIG, "%s: cannot read: %s", file, crl_file_strerror(err));
    cJSON *root = cJSON_ParseWithLength(text, len);
    explicit_bzero(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return corral_call_fail(call, CORRAL_ECONFIG, "%s: not a JSON object", file);
    }
    const cJSON *auths = cJSON_GetObjectItemCaseSensitive(root, "auths"), *e;
    int rc = 0;
    cJSON_ArrayForEach(e, auths) {
        char h[300];
        auths_key_host(e->string, h, sizeof h);
        if (strcmp(h, host) != 0 || !cJSON_IsObject(e))
            continue;
        rc = login_from(e, l, file, call);
        if (rc)
            break;
    }
    if (rc <= 0)
        crl_login_wipe(l);
    if (rc == 0 && (cJSON_GetObjectItemCaseSensitive(root, "credsStore") ||
                    cJSON_GetObjectItemCaseSensitive(root, "credHelpers")))
        corral_log(CORRAL_LOG_DEBUG, "image", "%s names credential helpers, which corral does not run", file);
    /* The parsed tree holds the secrets too. */
    cJSON_ArrayForEach(e, auths) {
        cJSON *a;
        cJSON_ArrayForEach(a, e) if (cJSON_IsString(a) && a->valuestring) explicit_bzero(a->valuestring,
                                                                                        strlen(a->valuestring));
    }
    cJSON_Delete(root);
    return rc;
}

int crl_registry_login(const char *host, char **user, char **pass, struct corral_call *call)
{
    struct crl_login l;
    *user = *pass = NULL;
    int rc = crl_registry_login_read(host, &l, call);
    if (rc > 0 && l.user && l.pass) {
        *user = l.user;
        *pass = l.pass;
        l.user = l.pass = NULL;
    } else if (rc > 0) {
        rc = 0; /* an identity token only: no user and password */
    }
    crl_login_wipe(&l);
    return rc;
}
