/* Validation of env names, labels and ids; ids and the owner string;
 * capped output capture. */
#include "sandbox/sandbox_internal.h"
#include "crl_common.h"

#include <openssl/rand.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_alpha(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }

/* The rule itself lives in common/env_name.c, shared with the plugins. */
int corral_env_name_valid(const char *name)
{
    return crl_is_env_name(name);
}

int corral_env_entry_valid(const char *kv)
{
    return crl_is_env_entry(kv);
}

int corral_label_valid(const char *kv, int allow_reserved)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv)
        return 0;
    size_t klen = (size_t)(eq - kv);
    if (klen > 128 || !is_alnum((unsigned char)kv[0]))
        return 0;
    for (size_t i = 1; i < klen; i++) {
        int c = (unsigned char)kv[i];
        if (!is_alnum(c) && c != '.' && c != '_' && c != '/' && c != '-')
            return 0;
    }
    if (!allow_reserved && klen >= 7 && strncmp(kv, "corral.", 7) == 0)
        return 0;
    const char *v = eq + 1;
    if (strlen(v) > 255)
        return 0;
    for (; *v; v++) {
        int c = (unsigned char)*v;
        if (!is_alnum(c) && !strchr("._:@/+,-", c))
            return 0;
    }
    return 1;
}

int corral_sandbox_id_valid(const char *id)
{
    if (!id)
        return 0;
    size_t n = strlen(id);
    if (n < 18 || n > 80 || id[n - 17] != '-')
        return 0;
    for (size_t i = 0; i < n - 17; i++) {
        int c = (unsigned char)id[i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_'))
            return 0;
    }
    for (size_t i = n - 16; i < n; i++) {
        int c = (unsigned char)id[i];
        if (!(is_digit(c) || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int corral_sandbox_id_backend(const char *id, char *buf, size_t cap)
{
    if (!corral_sandbox_id_valid(id))
        return CORRAL_EINVAL;
    size_t n = strlen(id) - 17;
    if (n + 1 > cap)
        return CORRAL_EINVAL;
    memcpy(buf, id, n);
    buf[n] = '\0';
    return 0;
}

int corral_sandbox_id_new(const char *backend, char *buf, size_t cap, struct corral_call *call)
{
    unsigned char rnd[8];
    size_t bl = backend ? strlen(backend) : 0;
    if (bl == 0 || bl > 62 || bl + 18 > cap)
        return corral_call_fail(call, CORRAL_EINVAL, "bad backend name for a sandbox id");
    for (size_t i = 0; i < bl; i++) {
        int c = (unsigned char)backend[i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_'))
            return corral_call_fail(call, CORRAL_EINVAL, "bad backend name '%s' for a sandbox id", backend);
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return corral_call_fail(call, CORRAL_EINTERNAL, "RAND_bytes failed");
    int n = snprintf(buf, cap, "%s-", backend);
    for (size_t i = 0; i < sizeof rnd; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%02x", rnd[i]);
    return 0;
}

void corral_sandbox_owner(char *buf, size_t cap)
{
    char host[256] = "unknown";
    const char *user = getenv("USER");
    char ubuf[64], pwbuf[1024];
    struct passwd pw, *pwp = NULL;
    if ((!user || !*user) && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp)
        user = pwp->pw_name;
    if (!user || !*user) {
        snprintf(ubuf, sizeof ubuf, "uid%u", (unsigned)getuid());
        user = ubuf;
    }
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(buf, cap, "%s@%s:%ld", user, host, (long)getpid());
    /* Keep the owner a valid label value whatever the user/host names hold. */
    for (char *p = buf; *p; p++)
        if (!is_alnum((unsigned char)*p) && !strchr("._:@/+,-", *p))
            *p = '_';
}

const char *sbx_label_get(const char *const *labels, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; labels && labels[i]; i++)
        if (strncmp(labels[i], key, kl) == 0 && labels[i][kl] == '=')
            return labels[i] + kl + 1;
    return NULL;
}

/* ---- capture ---- */

static int capture_write(void *ud, const void *buf, size_t len)
{
    struct corral_capture *c = ud;
    size_t cap = c->cap ? c->cap : CORRAL_EXEC_DEFAULT_CAP;
    c->total += len;
    if (c->len >= cap) {
        if (len)
            c->truncated = 1;
        return 0;
    }
    size_t take = len;
    if (take > cap - c->len) {
        take = cap - c->len;
        c->truncated = 1;
    }
    /* Grow geometrically, never past cap + 1. */
    size_t need = c->len + take + 1, alloc = 4096;
    while (alloc < need)
        alloc *= 2;
    if (alloc > cap + 1)
        alloc = cap + 1;
    char *nd = realloc(c->data, alloc);
    if (!nd)
        return CORRAL_ENOMEM;
    c->data = nd;
    memcpy(c->data + c->len, buf, take);
    c->len += take;
    c->data[c->len] = '\0';
    return 0;
}

void corral_capture_sink(struct corral_capture *cap, struct corral_sink *sink)
{
    memset(sink, 0, sizeof *sink);
    sink->struct_size = sizeof *sink;
    sink->write = capture_write;
    sink->ud = cap;
}

void corral_capture_free(struct corral_capture *cap)
{
    free(cap->data);
    cap->data = NULL;
    cap->len = cap->total = 0;
    cap->truncated = 0;
}

int sbx_membuf_write(void *ud, const void *buf, size_t len)
{
    struct sbx_membuf *m = ud;
    if (len > m->cap - m->len)
        return CORRAL_EIO;
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    return 0;
}
