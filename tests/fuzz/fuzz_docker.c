/* sandbox_docker's parsers of untrusted input, under libFuzzer: the
 * multiplexed exec stream (from the daemon), create options (from task
 * files and config) and the tars the daemon returns (re-rooting and
 * single-file extraction).  The first byte picks the target. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dk.h"

static int count_write(void *ud, const void *buf, size_t len)
{
    (void)buf;
    *(size_t *)ud += len;
    return 0;
}

static void demux(const uint8_t *d, size_t n)
{
    if (n < 1)
        return;
    size_t chunk = (size_t)d[0] % 17 + 1, out = 0, err = 0;
    struct corral_sink so = {sizeof so, count_write, &out}, se = {sizeof se, count_write, &err};
    struct dk_demux x;
    dk_demux_init(&x, &so, &se);
    for (size_t off = 1; off < n; off += chunk)
        dk_demux_feed(&x, d + off, off + chunk > n ? n - off : chunk);
    if (out != x.n_out || err != x.n_err || x.raw_len >= sizeof x.raw || x.raw[x.raw_len] != '\0')
        abort();
}

static void options(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = '\0';
    char err[512];
    cJSON *b = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(b, "HostConfig");
    const char *allowed[] = {"/tmp", NULL};
    int rc = dk_options_apply(s, allowed, b, hc, err, sizeof err);
    /* Whatever passed never grants what the allowlist refuses. */
    if (rc == 0 && (cJSON_GetObjectItem(hc, "Privileged") || cJSON_GetObjectItem(hc, "NetworkMode") ||
                    cJSON_GetObjectItem(hc, "Devices") || cJSON_GetObjectItem(hc, "Binds") ||
                    cJSON_GetObjectItem(hc, "SecurityOpt") || cJSON_GetObjectItem(hc, "PidMode")))
        abort();
    cJSON_Delete(b);
    free(s);
}

static void tar(const uint8_t *d, size_t n, int reroot)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0 || write(fd, d, n) != (ssize_t)n) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t got = 0;
    struct corral_sink s = {sizeof s, count_write, &got};
    char err[256], link[256];
    if (reroot)
        dk_tar_reroot(fd, &s, err, sizeof err);
    else
        dk_tar_first_file(fd, &s, link, sizeof link, err, sizeof err);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1)
        return 0;
    switch (d[0] & 3) {
    case 0: demux(d + 1, n - 1); break;
    case 1: options(d + 1, n - 1); break;
    case 2: tar(d + 1, n - 1, 1); break;
    default: tar(d + 1, n - 1, 0); break;
    }
    return 0;
}
