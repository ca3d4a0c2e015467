/* Environment variable names: the one rule libcorral, the CLI (through
 * corral_env_name_valid) and the plugins share.  ASCII on purpose: a name
 * is checked in the host's locale but used in a sandbox's, so <ctype.h>
 * (whose isalpha accepts bytes above 127 in single-byte locales) is not
 * used. */
#include <string.h>

#include "crl_common.h"

static int name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

int crl_is_env_name_n(const char *s, size_t n)
{
    if (!s || n == 0 || !name_start((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!name_start(c) && !(c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

int crl_is_env_name(const char *s)
{
    return s && crl_is_env_name_n(s, strlen(s));
}

int crl_is_env_entry(const char *kv)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    return eq && crl_is_env_name_n(kv, (size_t)(eq - kv));
}
