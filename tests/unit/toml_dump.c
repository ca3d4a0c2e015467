/* toml_dump FILE: the TOML document in FILE as JSON with type tags, every
 * scalar {"type": T, "value": TEXT} (T from crl_toml_type_name; floats
 * "%.17g", "inf", "-inf" or "nan"), for the differential test against
 * Python's tomllib (toml_diff.py).  Exit 0, or 1 with "error: MESSAGE"
 * on stdout when the parser refuses the document. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"
#include "crl_toml.h"

static void str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void dump(const struct crl_toml *v)
{
    if (v->type == CRL_TOML_TABLE || v->type == CRL_TOML_ARRAY) {
        int t = v->type == CRL_TOML_TABLE;
        putchar(t ? '{' : '[');
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                putchar(',');
            if (t) {
                str(v->items[i]->key, strlen(v->items[i]->key));
                putchar(':');
            }
            dump(v->items[i]);
        }
        putchar(t ? '}' : ']');
        return;
    }
    printf("{\"type\":\"%s\",\"value\":", crl_toml_type_name(v->type));
    char num[64];
    switch (v->type) {
    case CRL_TOML_INT:
        printf("\"%lld\"", (long long)v->i);
        break;
    case CRL_TOML_FLOAT:
        if (isnan(v->f))
            snprintf(num, sizeof num, "nan");
        else if (isinf(v->f))
            snprintf(num, sizeof num, "%sinf", v->f < 0 ? "-" : "");
        else
            snprintf(num, sizeof num, "%.17g", v->f);
        printf("\"%s\"", num);
        break;
    case CRL_TOML_BOOL:
        printf("\"%s\"", v->b ? "true" : "false");
        break;
    default:
        str(v->s, v->len);
    }
    putchar('}');
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: toml_dump FILE\n");
        return 2;
    }
    size_t len;
    int err;
    char *text = crl_read_file(argv[1], &len, &err);
    if (!text) {
        fprintf(stderr, "%s: %s\n", argv[1], crl_file_strerror(err));
        return 2;
    }
    char msg[512];
    struct crl_toml *t = crl_toml_parse(text, len, msg, sizeof msg);
    free(text);
    if (!t) {
        printf("error: %s\n", msg);
        return 1;
    }
    dump(t);
    putchar('\n');
    crl_toml_free(t);
    return 0;
}
