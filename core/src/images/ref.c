/*
 * Image references, normalised by Docker's rules (docs/images.md):
 *   [REGISTRY/]PATH[:TAG][@DIGEST]
 * The first component is a registry when it has a '.' or a ':', is
 * "localhost", or has an upper-case letter; otherwise the registry is
 * docker.io, where a one-component path gets "library/".
 * "index.docker.io" is docker.io.  Without tag or digest the tag is
 * "latest".  Path components are lowercase [a-z0-9] runs joined by '.',
 * '_', "__" or '-'s; a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the only
 * digest accepted is sha256 with 64 lowercase hex digits.
 */
#include <stdio.h>
#include <string.h>

#include "images/images_internal.h"

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_word(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_';
}

/* One path component s[0..n). */
static int component_ok(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n;) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        /* a separator: '.', '_', "__" or a run of '-' */
        size_t j = i;
        if (s[i] == '.')
            j++;
        else if (s[i] == '_')
            j += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-')
            while (j < n && s[j] == '-')
                j++;
        else
            return 0;
        if (j >= n || !is_lower_alnum(s[j]))
            return 0;
        i = j;
    }
    return 1;
}

/* host[:port] or [ipv6][:port]: letters, digits, '-' and '.' in the host. */
static int registry_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0)
        return 0;
    if (s[0] == '[') {
        while (i < n && s[i] != ']')
            i++;
        if (i == n || i < 3)
            return 0;
        for (size_t k = 1; k < i; k++)
            if (!(is_lower_alnum(s[k]) || (s[k] >= 'A' && s[k] <= 'F') || s[k] == ':' || s[k] == '.'))
                return 0;
        i++;
    } else {
        while (i < n && s[i] != ':') {
            char c = s[i];
            if (!(is_word(c) || c == '-' || c == '.') || c == '_')
                return 0;
            i++;
        }
        if (i == 0 || s[0] == '-' || s[0] == '.' || s[i - 1] == '-' || s[i - 1] == '.')
            return 0;
    }
    if (i == n)
        return 1;
    if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
        return 0;
    for (size_t k = i + 1; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    return 1;
}

int corral_image_ref_parse(const char *text, struct corral_image_ref *out, struct corral_call *call)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return corral_call_fail(call, CORRAL_EINVAL, "image reference: empty");
    size_t len = strlen(text);
    if (len > 600)
        return corral_call_fail(call, CORRAL_EINVAL, "image reference: longer than 600 characters");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] <= ' ' || (unsigned char)text[i] >= 0x7f)
            return corral_call_fail(call, CORRAL_EINVAL, "image reference '%.80s': blank or non-ASCII character",
                                    text);
    const char *at = strchr(text, '@');
    size_t nlen = at ? (size_t)(at - text) : len;
    if (at) {
        if (!crl_digest_valid(at + 1))
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "image reference '%s': the digest must be sha256: and 64 lowercase hex digits",
                                    text);
        snprintf(out->digest, sizeof out->digest, "%s", at + 1);
    }
    /* A tag is after the last ':' that follows the last '/'. */
    const char *slash = NULL, *colon = NULL;
    for (size_t i = 0; i < nlen; i++) {
        if (text[i] == '/')
            slash = text + i, colon = NULL;
        else if (text[i] == ':')
            colon = text + i;
    }
    if (colon) {
        size_t tlen = nlen - (size_t)(colon + 1 - text);
        const char *t = colon + 1;
        int ok = tlen >= 1 && tlen <= 128 && is_word(t[0]);
        for (size_t i = 1; ok && i < tlen; i++)
            ok = is_word(t[i]) || t[i] == '.' || t[i] == '-';
        if (!ok)
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "image reference '%s': a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with '.' "
                                    "or '-'",
                                    text);
        memcpy(out->tag, t, tlen);
        out->tag[tlen] = '\0';
        nlen = (size_t)(colon - text);
    }
    (void)slash;
    /* Registry or not: the first component. */
    const char *first_end = memchr(text, '/', nlen);
    const char *path = text;
    size_t plen = nlen;
    if (first_end) {
        size_t flen = (size_t)(first_end - text);
        int is_reg = memchr(text, '.', flen) || memchr(text, ':', flen) ||
                     (flen == 9 && memcmp(text, "localhost", 9) == 0);
        for (size_t i = 0; !is_reg && i < flen; i++)
            is_reg = text[i] >= 'A' && text[i] <= 'Z';
        if (is_reg) {
            if (!registry_ok(text, flen) || flen >= sizeof out->registry)
                return corral_call_fail(call, CORRAL_EINVAL, "image reference '%s': '%.*s' is not a registry (host[:port])",
                                        text, (int)flen, text);
            memcpy(out->registry, text, flen);
            out->registry[flen] = '\0';
            path = first_end + 1;
            plen = nlen - flen - 1;
        }
    }
    if (!out->registry[0] || strcmp(out->registry, "index.docker.io") == 0)
        snprintf(out->registry, sizeof out->registry, "docker.io");
    /* The path: components checked one by one. */
    if (plen == 0)
        return corral_call_fail(call, CORRAL_EINVAL, "image reference '%s': no repository name", text);
    for (size_t i = 0; i < plen;) {
        size_t j = i;
        while (j < plen && path[j] != '/')
            j++;
        if (!component_ok(path + i, j - i)) {
            for (size_t k = i; k < j; k++)
                if (path[k] >= 'A' && path[k] <= 'Z')
                    return corral_call_fail(call, CORRAL_EINVAL,
                                            "image reference '%s': repository names must be lowercase", text);
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "image reference '%s': '%.*s' is not a repository path component", text,
                                    (int)(j - i), path + i);
        }
        i = j + 1;
        if (j + 1 == plen)
            return corral_call_fail(call, CORRAL_EINVAL, "image reference '%s': the repository ends with '/'", text);
    }
    int library = strcmp(out->registry, "docker.io") == 0 && !memchr(path, '/', plen);
    if (plen + (library ? 8 : 0) + strlen(out->registry) + 1 > 255)
        return corral_call_fail(call, CORRAL_EINVAL, "image reference '%s': the name is longer than 255 characters",
                                text);
    snprintf(out->repository, sizeof out->repository, "%s%.*s", library ? "library/" : "", (int)plen, path);
    if (!out->tag[0] && !out->digest[0])
        snprintf(out->tag, sizeof out->tag, "latest");
    return 0;
}

int corral_image_ref_format(const struct corral_image_ref *ref, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s%s%s%s%s", ref->registry, ref->repository, ref->tag[0] ? ":" : "", ref->tag,
                     ref->digest[0] ? "@" : "", ref->digest);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int crl_image_ref_named(const char *text, struct corral_image_ref *ref, char *name, size_t cap,
                        struct corral_call *call)
{
    int rc = corral_image_ref_parse(text, ref, call);
    if (rc)
        return rc;
    return corral_image_ref_format(ref, name, cap) < 0
               ? corral_call_fail(call, CORRAL_EINVAL, "image reference too long")
               : 0;
}
