/* Listen addresses given as text: "HOST:PORT" or "[IPV6]:PORT", the form
 * of corral gate serve --listen, corral run --trainer-listen and
 * corral_rollout_options.gate_listen. */
#include <string.h>

#include "crl_common.h"

int crl_parse_host_port(const char *s, char *host, size_t cap, uint16_t *port)
{
    if (!s || cap == 0)
        return -1;
    const char *h = s, *he, *colon;
    if (*s == '[') {
        h = s + 1;
        he = strchr(h, ']');
        if (!he || he[1] != ':')
            return -1;
        colon = he + 1;
    } else {
        colon = strchr(s, ':');
        he = colon;
        if (!colon || strchr(colon + 1, ':')) /* an unbracketed IPv6 address is ambiguous */
            return -1;
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0 || hl >= cap)
        return -1;
    const char *p = colon + 1;
    unsigned long v = 0;
    if (!*p || strlen(p) > 5)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 0;
}
