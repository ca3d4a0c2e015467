/* libFuzzer: what a sandbox sends the egress proxy (core/src/egress/
 * egress_wire.c) and the policies a task carries (egress_policy.c).  The
 * first byte picks the parser: 0 a request head (rewritten when accepted),
 * 1 the start of a tunnel (ClientHello server name), 2 a policy object. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress/egress.h"
#include "egress/egress_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *b = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 3 == 0) {
        struct crl_egress_head *h = malloc(sizeof *h);
        int st = crl_egress_parse_head(b, n, h);
        if (st == 1) {
            if (h->head_len > n || !h->host[0] || !h->port)
                abort();
            struct crl_buf out = {0};
            if (crl_egress_rewrite(h, b, &out) == 0 && (out.len < 4 || memcmp(out.p + out.len - 4, "\r\n\r\n", 4)))
                abort();
            crl_buf_free(&out);
        } else if (st != 0 && st != 400 && st != 431 && st != 501) {
            abort();
        }
        free(h);
    } else if (data[0] % 3 == 1) {
        char sni[256];
        int r = crl_egress_client_hello_sni((const unsigned char *)b, n, sni, sizeof sni);
        if (r == 1 && strlen(sni) == 0)
            abort();
    } else {
        cJSON *j = cJSON_ParseWithLength(b, n);
        if (j) {
            struct crl_egress e;
            struct corral_call call = {0};
            if (crl_egress_from_json(j, "fuzz", CRL_EGRESS_TASK, &e, &call) == 0) {
                struct crl_egress_request req = {"a.example.com", "GET", "/x"};
                for (int p = 0; p < CRL_EGRESS_NPHASES; p++)
                    crl_egress_match(crl_egress_for(&e, (enum crl_egress_phase)p), &req);
                crl_egress_free(&e);
            } else if (!call.message[0]) {
                abort(); /* every refusal says why */
            }
            cJSON_Delete(j);
        }
    }
    return 0;
}
