/* sandbox_docker's pure parts: the multiplexed stream demultiplexer, the
 * create-option allowlist, bind-mount policy and list() label filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "dk.h"

/* ---- demux ------------------------------------------------------------------ */

struct buf {
    char data[4096];
    size_t len;
    int fail_after;      /* return an error once len exceeds this (0 = never) */
};

static int buf_write(void *ud, const void *p, size_t n)
{
    struct buf *b = ud;
    assert_true(b->len + n < sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    if (b->fail_after && b->len > (size_t)b->fail_after)
        return CORRAL_EIO;
    return 0;
}

static size_t frame(unsigned char *o, int stream, const char *payload, size_t n)
{
    o[0] = (unsigned char)stream;
    o[1] = o[2] = o[3] = 0;
    o[4] = (unsigned char)(n >> 24);
    o[5] = (unsigned char)(n >> 16);
    o[6] = (unsigned char)(n >> 8);
    o[7] = (unsigned char)n;
    memcpy(o + 8, payload, n);
    return 8 + n;
}

/* A stream of stdout/stderr frames incl. an empty one and a binary one. */
static size_t sample(unsigned char *s)
{
    size_t n = 0;
    n += frame(s + n, 1, "hello ", 6);
    n += frame(s + n, 2, "oops\n", 5);
    n += frame(s + n, 1, "", 0);
    n += frame(s + n, 1, "wor\0ld\n", 7);
    n += frame(s + n, 0, "in", 2);
    return n;
}

static void test_demux_whole_and_split(void **st)
{
    (void)st;
    unsigned char s[256];
    size_t n = sample(s);
    /* Every chunk size from 1 byte to the whole stream. */
    for (size_t chunk = 1; chunk <= n; chunk++) {
        struct buf o = {.len = 0}, e = {.len = 0};
        struct corral_sink so = {sizeof so, buf_write, &o}, se = {sizeof se, buf_write, &e};
        struct dk_demux d;
        dk_demux_init(&d, &so, &se);
        for (size_t off = 0; off < n; off += chunk)
            assert_int_equal(dk_demux_feed(&d, s + off, off + chunk > n ? n - off : chunk), 0);
        assert_true(dk_demux_complete(&d));
        assert_int_equal(o.len, 15);
        assert_memory_equal(o.data, "hello wor\0ld\nin", 15);
        assert_int_equal(e.len, 5);
        assert_memory_equal(e.data, "oops\n", 5);
        assert_int_equal(d.n_out, 15);
        assert_int_equal(d.n_err, 5);
    }
}

static void test_demux_truncated(void **st)
{
    (void)st;
    unsigned char s[64];
    size_t n = frame(s, 1, "abcdef", 6);
    struct dk_demux d;
    dk_demux_init(&d, NULL, NULL);
    assert_int_equal(dk_demux_feed(&d, s, n - 2), 0);
    assert_false(dk_demux_complete(&d));      /* mid-payload */
    dk_demux_init(&d, NULL, NULL);
    assert_int_equal(dk_demux_feed(&d, s, 5), 0);
    assert_false(dk_demux_complete(&d));      /* mid-header */
    assert_int_equal(dk_demux_feed(&d, s + 5, n - 5), 0);
    assert_true(dk_demux_complete(&d));
}

static void test_demux_not_a_stream(void **st)
{
    (void)st;
    const char *body = "{\"message\":\"container is paused\"}";
    struct buf o = {.len = 0};
    struct corral_sink so = {sizeof so, buf_write, &o};
    struct dk_demux d;
    dk_demux_init(&d, &so, NULL);
    assert_int_equal(dk_demux_feed(&d, body, 3), 0);
    assert_int_equal(dk_demux_feed(&d, body + 3, strlen(body) - 3), 0);
    assert_true(d.bad);
    assert_false(dk_demux_complete(&d));
    assert_string_equal(d.raw, body);
    assert_int_equal(o.len, 0);
}

static void test_demux_syserr_and_sink_error(void **st)
{
    (void)st;
    unsigned char s[128];
    size_t n = frame(s, 3, "daemon error", 12);
    n += frame(s + n, 1, "0123456789", 10);
    struct buf o = {.len = 0, .fail_after = 4};
    struct corral_sink so = {sizeof so, buf_write, &o};
    struct dk_demux d;
    dk_demux_init(&d, &so, NULL);
    assert_int_equal(dk_demux_feed(&d, s, n), CORRAL_EIO);
    assert_string_equal(d.raw, "daemon error");
}

/* ---- options ---------------------------------------------------------------- */

static int apply(const char *json, const char *const *allowed, cJSON **hc_out, char *err)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *hc = cJSON_AddObjectToObject(b, "HostConfig");
    int rc = dk_options_apply(json, allowed, b, hc, err, 512);
    *hc_out = cJSON_Duplicate(b, 1);
    cJSON_Delete(b);
    return rc;
}

static void refused(const char *json, const char *needle)
{
    char err[512] = "";
    cJSON *b;
    int rc = apply(json, NULL, &b, err);
    cJSON_Delete(b);
    if (rc != CORRAL_EPERM || !strstr(err, needle))
        fail_msg("%s: rc %d, err '%s' lacks '%s'", json, rc, err, needle);
}

static void test_options_refused(void **st)
{
    (void)st;
    refused("{\"privileged\":true}", "'privileged'");
    refused("{\"network_mode\":\"host\"}", "'network_mode'");
    refused("{\"pid_mode\":\"host\"}", "'pid_mode'");
    refused("{\"ipc_mode\":\"host\"}", "'ipc_mode'");
    refused("{\"devices\":[\"/dev/sda\"]}", "'devices'");
    refused("{\"security_opt\":[\"seccomp=unconfined\"]}", "'security_opt'");
    refused("{\"binds\":[\"/:/host\"]}", "'binds'");
    refused("{\"Privileged\":true}", "'Privileged'");
    refused("{\"read_only_rootfs\":true}", "'read_only_rootfs'");
    refused("{\"frobnicate\":1}", "'frobnicate': unknown");
    refused("{\"cap_add\":[\"SYS_ADMIN\"]}", "'SYS_ADMIN'");
    refused("{\"cap_add\":[\"CAP_NET_ADMIN\"]}", "'CAP_NET_ADMIN'");
    refused("{\"ulimits\":[{\"name\":\"rtprio\",\"soft\":1,\"hard\":1}]}", "ulimits.rtprio");
    refused("{\"mounts\":[{\"source\":\"/tmp\",\"target\":\"/x\"}]}", "allowed_mounts");
    refused("{\"mounts\":[{\"source\":\"/tmp\",\"target\":\"/x\",\"propagation\":\"shared\"}]}",
            "mounts.propagation");
    char err[512] = "";
    cJSON *b;
    assert_int_equal(apply("[1]", NULL, &b, err), CORRAL_EINVAL);
    cJSON_Delete(b);
}

static void test_options_applied(void **st)
{
    (void)st;
    char dir[] = "/tmp/dkopt-XXXXXX", sub[64], err[512] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/data", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *allowed[] = {dir, NULL};
    char json[1024];
    snprintf(json, sizeof json,
             "{\"cap_add\":[\"chown\",\"CAP_KILL\"],\"shm_size\":1048576,\"tmpfs\":{\"/run\":\"size=1m\"},"
             "\"ulimits\":[{\"name\":\"nofile\",\"soft\":1024,\"hard\":2048}],\"hostname\":\"box\","
             "\"extra_hosts\":[\"gate:host-gateway\"],"
             "\"mounts\":[{\"source\":\"%s\",\"target\":\"/data\",\"read_only\":true}]}", sub);
    cJSON *b;
    assert_int_equal(apply(json, allowed, &b, err), 0);
    cJSON *hc = cJSON_GetObjectItem(b, "HostConfig");
    char *s = cJSON_PrintUnformatted(b);
    assert_non_null(strstr(s, "\"CapAdd\":[\"CAP_CHOWN\",\"CAP_KILL\"]"));
    assert_non_null(strstr(s, "\"Hostname\":\"box\""));
    assert_non_null(strstr(s, "\"ExtraHosts\":[\"gate:host-gateway\"]"));
    assert_non_null(strstr(s, "{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048}"));
    assert_int_equal(cJSON_GetObjectItem(hc, "ShmSize")->valuedouble, 1048576);
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(hc, "Mounts"), 0);
    assert_string_equal(cJSON_GetObjectItem(m, "Source")->valuestring, sub);
    assert_string_equal(cJSON_GetObjectItem(m, "Type")->valuestring, "bind");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "ReadOnly")));
    free(s);
    cJSON_Delete(b);
    rmdir(sub);
    rmdir(dir);
}

static void test_mount_policy(void **st)
{
    (void)st;
    char err[512];
    char dir[] = "/tmp/dkmnt-XXXXXX", link[80];
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/root", dir);
    assert_int_equal(symlink("/", link), 0);
    const char *all[] = {"/", NULL};
    assert_int_equal(dk_mount_check(dir, "/w", NULL, err, sizeof err), 0);
    assert_int_equal(dk_mount_check("tmp", "/w", NULL, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check("/", "/w", all, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check("/etc", "/w", all, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check(link, "/w", all, err, sizeof err), CORRAL_EPERM);   /* via symlink */
    assert_int_equal(dk_mount_check("/proc/self", "/w", all, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check(dir, "/w/../etc", NULL, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check(dir, "/.corral/x", NULL, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check(dir, "w", NULL, err, sizeof err), CORRAL_EPERM);
    assert_int_equal(dk_mount_check("/nonexistent-dk", "/w", NULL, err, sizeof err), CORRAL_EPERM);
    unlink(link);
    rmdir(dir);
}

static void test_caps(void **st)
{
    (void)st;
    const char *c;
    assert_true(dk_cap_allowed("chown", &c));
    assert_string_equal(c, "CAP_CHOWN");
    assert_true(dk_cap_allowed("CAP_SETUID", &c));
    assert_false(dk_cap_allowed("SYS_ADMIN", &c));
    assert_false(dk_cap_allowed("SYS_PTRACE", &c));
    assert_false(dk_cap_allowed("ALL", &c));
}

/* ---- label filters ---------------------------------------------------------------- */

static void test_label_filter(void **st)
{
    (void)st;
    char *s = dk_label_filter_json(NULL);
    assert_string_equal(s, "{\"label\":[\"corral.id\"]}");
    free(s);
    const char *f[] = {"corral.owner=me", "corral.rollout", "x=a\"b", NULL};
    s = dk_label_filter_json(f);
    assert_string_equal(s, "{\"label\":[\"corral.id\",\"corral.owner=me\",\"corral.rollout\",\"x=a\\\"b\"]}");
    free(s);
    const char *bad[] = {"", NULL};
    assert_null(dk_label_filter_json(bad));
    const char *bad2[] = {"=v", NULL};
    assert_null(dk_label_filter_json(bad2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_whole_and_split),
        cmocka_unit_test(test_demux_truncated),
        cmocka_unit_test(test_demux_not_a_stream),
        cmocka_unit_test(test_demux_syserr_and_sink_error),
        cmocka_unit_test(test_options_refused),
        cmocka_unit_test(test_options_applied),
        cmocka_unit_test(test_mount_policy),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_label_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
