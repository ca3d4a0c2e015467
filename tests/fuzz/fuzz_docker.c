/* sandbox_docker's parsers of untrusted input, under libFuzzer: the
 * multiplexed exec stream (from the daemon), create options (from task
 * files and config) and the tars the daemon returns (re-rooting and
 * single-file extraction), and its answers about the images corral built
 * (image and container lists).  The first byte picks the target. */
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

static int one_image(void *ud, const struct corral_backend_image *img)
{
    /* Every name and id handed on is a string, its counts within range. */
    if (!img->ref || !img->id || strlen(img->ref) + strlen(img->id) == (size_t)-1 || img->in_use < -1)
        abort();
    (*(size_t *)ud)++;
    return 0;
}

/* The image list and the container list, split at the first NUL. */
static void images(const uint8_t *d, size_t n)
{
    const uint8_t *z = memchr(d, 0, n);
    size_t ilen = z ? (size_t)(z - d) : n;
    char *a = malloc(n + 1);
    memcpy(a, d, n);
    a[n] = '\0';
    size_t seen = 0;
    char err[256];
    dk_images_walk(a, ilen, z ? a + ilen + 1 : NULL, z ? n - ilen - 1 : 0, one_image, &seen, err, sizeof err);
    cJSON *cs = cJSON_ParseWithLength(a, n);
    char names[64];
    dk_image_users(cs, "sha256:x", n && (d[0] & 1), names, sizeof names);
    if (strlen(names) >= sizeof names)
        abort();
    cJSON_Delete(cs);
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1)
        return 0;
    if ((d[0] & 7) == 4) {
        images(d + 1, n - 1);
        return 0;
    }
    switch (d[0] & 3) {
    case 0: demux(d + 1, n - 1); break;
    case 1: options(d + 1, n - 1); break;
    case 2: tar(d + 1, n - 1, 1); break;
    default: tar(d + 1, n - 1, 0); break;
    }
    return 0;
}
