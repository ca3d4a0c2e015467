/* The image code's parsers and layer application: references normalised
 * as Docker does, WWW-Authenticate challenges, config.json logins,
 * manifests and indexes, and OCI whiteouts on tar layers made here with
 * libarchive (docs/images.md). */
#include "archive/archive_internal.h"
#include "images/images_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

static void expect_ref(const char *in, const char *canonical)
{
    struct corral_image_ref r;
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = corral_image_ref_parse(in, &r, &call);
    if (rc)
        fail_msg("%s: %s", in, call.message);
    char buf[700];
    assert_true(corral_image_ref_format(&r, buf, sizeof buf) > 0);
    assert_string_equal(buf, canonical);
}

static void expect_bad_ref(const char *in, const char *why)
{
    struct corral_image_ref r;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_image_ref_parse(in, &r, &call), CORRAL_EINVAL);
    if (!strstr(call.message, why))
        fail_msg("%s: '%s' lacks '%s'", in, call.message, why);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref_normalise(void **st)
{
    (void)st;
    expect_ref("ubuntu", "docker.io/library/ubuntu:latest");
    expect_ref("ubuntu:24.04", "docker.io/library/ubuntu:24.04");
    expect_ref("org/img", "docker.io/org/img:latest");
    expect_ref("index.docker.io/library/busybox:1", "docker.io/library/busybox:1");
    expect_ref("docker.io/busybox", "docker.io/library/busybox:latest");
    expect_ref("registry:5000/org/img@sha256:" D64, "registry:5000/org/img@sha256:" D64);
    expect_ref("registry:5000/org/img:v1@sha256:" D64, "registry:5000/org/img:v1@sha256:" D64);
    expect_ref("localhost/img", "localhost/img:latest");
    expect_ref("localhost:5000/a/b/c:t_1.x-y", "localhost:5000/a/b/c:t_1.x-y");
    expect_ref("ghcr.io/a__b/c-d--e.f:tag", "ghcr.io/a__b/c-d--e.f:tag");
    expect_ref("Registry/img", "Registry/img:latest"); /* upper case: a registry */
    expect_ref("[::1]:5000/img", "[::1]:5000/img:latest");
    expect_ref("127.0.0.1:5000/img:1", "127.0.0.1:5000/img:1");
    struct corral_image_ref r;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_image_ref_parse("registry:5000/org/img@sha256:" D64, &r, &call), 0);
    assert_string_equal(r.registry, "registry:5000");
    assert_string_equal(r.repository, "org/img");
    assert_string_equal(r.tag, "");
    assert_string_equal(r.digest, "sha256:" D64);
}

static void test_ref_refused(void **st)
{
    (void)st;
    expect_bad_ref("", "empty");
    expect_bad_ref("docker.io/Org/img", "lowercase");
    expect_bad_ref("img:", "tag");
    expect_bad_ref("img:.x", "tag");
    expect_bad_ref("img@sha256:abc", "digest");
    expect_bad_ref("img@sha512:" D64 D64, "digest");
    expect_bad_ref("img@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "digest");
    expect_bad_ref("a//b", "component");
    expect_bad_ref("a/b/", "ends with");
    expect_bad_ref("-a", "component");
    expect_bad_ref("a..b", "component");
    expect_bad_ref("reg:99999x/a", "registry");
    expect_bad_ref("has space", "blank");
    expect_bad_ref("reg:5000/", "no repository");
    char longname[700];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    expect_bad_ref(longname, "longer");
}

static void test_www_auth(void **st)
{
    (void)st;
    struct crl_www_auth a;
    assert_int_equal(crl_www_auth_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                        "scope=\"repository:library/ubuntu:pull\"",
                                        &a),
                     0);
    assert_string_equal(a.scheme, "Bearer");
    assert_string_equal(a.realm, "https://auth.docker.io/token");
    assert_string_equal(a.service, "registry.docker.io");
    assert_string_equal(a.scope, "repository:library/ubuntu:pull");
    assert_int_equal(crl_www_auth_parse("Basic realm=\"a \\\"quoted\\\" realm\"", &a), 0);
    assert_string_equal(a.scheme, "Basic");
    assert_string_equal(a.realm, "a \"quoted\" realm");
    assert_int_equal(crl_www_auth_parse("Bearer realm=http://h/t, service=s, error=\"invalid_token\"", &a), 0);
    assert_string_equal(a.realm, "http://h/t");
    assert_string_equal(a.service, "s");
    assert_string_equal(a.scope, "");
    assert_int_equal(crl_www_auth_parse("Bearer realm=\"unterminated", &a), -1);
    assert_string_equal(a.scheme, "");
    assert_int_equal(crl_www_auth_parse("", &a), -1);
    assert_int_equal(crl_www_auth_parse("Bearer realm=\"x\" junk", &a), -1);
    assert_int_equal(crl_www_auth_parse("Bearer realm=\"a\x01\"", &a), -1);
    char big[3000];
    snprintf(big, sizeof big, "Bearer realm=\"%02000d\"", 0);
    assert_int_equal(crl_www_auth_parse(big, &a), -1);
}

static char tmpdir[64];

static int make_tmp(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/corral-test-images-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_tmp(void **st)
{
    (void)st;
    crl_tree_remove(AT_FDCWD, tmpdir);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_login(void **st)
{
    (void)st;
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/config.json", tmpdir);
    /* dXNlcjpwYTpzcw== is user:pa:ss */
    write_file(cfg, "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"dXNlcjpwYTpzcw==\"},"
                    " \"reg:5000\": {\"username\": \"u2\", \"password\": \"p2\"},"
                    " \"bad:1\": {\"auth\": \"!!!\"}}}");
    setenv("DOCKER_CONFIG", tmpdir, 1);
    char *u, *p;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(crl_registry_login("docker.io", &u, &p, &call), 1);
    assert_string_equal(u, "user");
    assert_string_equal(p, "pa:ss");
    crl_wipe_free(u);
    crl_wipe_free(p);
    assert_int_equal(crl_registry_login("reg:5000", &u, &p, &call), 1);
    assert_string_equal(u, "u2");
    crl_wipe_free(u);
    crl_wipe_free(p);
    assert_int_equal(crl_registry_login("other", &u, &p, &call), 0);
    assert_null(u);
    assert_int_equal(crl_registry_login("bad:1", &u, &p, &call), CORRAL_ECONFIG);
    assert_null(strstr(call.message, "!!!"));
    write_file(cfg, "[1]");
    assert_int_equal(crl_registry_login("docker.io", &u, &p, &call), CORRAL_ECONFIG);
    unlink(cfg);
    assert_int_equal(crl_registry_login("docker.io", &u, &p, &call), 0);
    unsetenv("DOCKER_CONFIG");
}

/* A backend that pulls itself gets the mirrors first, then the registry,
 * each with the X-Registry-Auth value of its login (base64url JSON). */
static void test_pull_sources(void **st)
{
    (void)st;
    char cfg[128], conf[128];
    snprintf(cfg, sizeof cfg, "%s/config.json", tmpdir);
    snprintf(conf, sizeof conf, "%s/corral.json", tmpdir);
    /* dXNlcjpwYTpzcw== is user:pa:ss */
    write_file(cfg, "{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"dXNlcjpwYTpzcw==\"}}}");
    write_file(conf, "{\"images\": {\"mirrors\": {\"docker.io\": [\"http://127.0.0.1:5000\", \"https://m.example/\"]}}}");
    setenv("DOCKER_CONFIG", tmpdir, 1);
    setenv("CORRAL_CONFIG_DIR", tmpdir, 1);
    struct corral_options o = {.struct_size = sizeof o, .config_file = conf, .no_plugins = 1};
    corral_ctx *ctx = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_open(&o, &ctx, &call), 0);
    struct crl_image_sources s;
    assert_int_equal(crl_image_sources_make(ctx, "debian:12", &s, &call), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0].ref, "127.0.0.1:5000/library/debian:12");
    assert_string_equal(s.v[1].ref, "m.example/library/debian:12");
    assert_string_equal(s.v[2].ref, "docker.io/library/debian:12");
    assert_non_null(s.v[0].registry_auth);
    assert_null(s.v[1].registry_auth);
    assert_null(s.v[2].registry_auth);
    unsigned char dec[256];
    long n = crl_b64_decode(s.v[0].registry_auth, strlen(s.v[0].registry_auth), dec);
    assert_true(n > 0);
    dec[n] = '\0';
    assert_string_equal((char *)dec, "{\"username\":\"user\",\"password\":\"pa:ss\",\"serveraddress\":\"127.0.0.1:5000\"}");
    assert_null(strpbrk(s.v[0].registry_auth, "+/=")); /* the URL alphabet, unpadded */
    crl_image_sources_free(&s);
    /* a digest reference keeps its digest; another registry has no mirror */
    assert_int_equal(crl_image_sources_make(ctx, "reg:5000/org/img@sha256:" D64, &s, &call), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.v[0].ref, "reg:5000/org/img@sha256:" D64);
    crl_image_sources_free(&s);
    assert_int_equal(crl_image_sources_make(ctx, "Bad Name", &s, &call), CORRAL_EINVAL);
    /* a login that is an identity token is sent as one, without user and
     * password (dXNlcjo= is "user:", as Docker's login writes it) */
    write_file(cfg, "{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"dXNlcjo=\", \"identitytoken\": \"tok/en+1\"},"
                    " \"m.example\": {\"identitytoken\": \"only\"}}}");
    assert_int_equal(crl_image_sources_make(ctx, "debian:12", &s, &call), 0);
    assert_int_equal(s.n, 3);
    n = crl_b64_decode(s.v[0].registry_auth, strlen(s.v[0].registry_auth), dec);
    assert_true(n > 0);
    dec[n] = '\0';
    assert_string_equal((char *)dec, "{\"identitytoken\":\"tok/en+1\",\"serveraddress\":\"127.0.0.1:5000\"}");
    assert_non_null(s.v[1].registry_auth);
    n = crl_b64_decode(s.v[1].registry_auth, strlen(s.v[1].registry_auth), dec);
    assert_true(n > 0);
    dec[n] = '\0';
    assert_string_equal((char *)dec, "{\"identitytoken\":\"only\",\"serveraddress\":\"m.example\"}");
    assert_null(s.v[2].registry_auth);
    crl_image_sources_free(&s);
    /* the image layer's own pulls still read a user and password only */
    char *u, *pw;
    assert_int_equal(crl_registry_login("m.example", &u, &pw, &call), 0);
    assert_null(u);
    assert_int_equal(crl_registry_login("127.0.0.1:5000", &u, &pw, &call), 1);
    assert_string_equal(u, "user");
    assert_string_equal(pw, "");
    crl_wipe_free(u);
    crl_wipe_free(pw);
    corral_close(ctx);
    unlink(cfg);
    unlink(conf);
    unsetenv("DOCKER_CONFIG");
    unsetenv("CORRAL_CONFIG_DIR");
}

#define DG "sha256:" D64

static int parse(const char *json, const char *ctype, struct crl_manifest *m, struct corral_call *call)
{
    return crl_manifest_parse(json, strlen(json), ctype, "amd64", m, call);
}

static void test_manifest(void **st)
{
    (void)st;
    struct crl_manifest m;
    struct corral_call call;
    corral_call_init(&call, 0);
    const char *man = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                      "\"config\":{\"mediaType\":\"x\",\"digest\":\"" DG "\",\"size\":12},"
                      "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" DG
                      "\",\"size\":34},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" DG
                      "\",\"size\":0}]}";
    assert_int_equal(parse(man, NULL, &m, &call), 0);
    assert_false(m.is_index);
    assert_int_equal(m.config.size, 12);
    assert_int_equal(m.nlayers, 2);
    assert_int_equal(m.layers[0].size, 34);
    crl_manifest_free(&m);
    /* No mediaType in the body: the Content-Type decides. */
    const char *oci = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":1},\"layers\":[]}";
    assert_int_equal(parse(oci, "application/vnd.oci.image.manifest.v1+json; charset=x", &m, &call), 0);
    crl_manifest_free(&m);
    const char *idx = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                      "{\"digest\":\"sha256:" "1111111111111111111111111111111111111111111111111111111111111111"
                      "\",\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                      "{\"digest\":\"" DG "\",\"size\":7,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    assert_int_equal(parse(idx, NULL, &m, &call), 0);
    assert_true(m.is_index);
    assert_string_equal(m.chosen.digest, DG);
    assert_int_equal(m.chosen.size, 7);
    crl_manifest_free(&m);
    assert_int_equal(crl_manifest_parse(idx, strlen(idx), NULL, "s390x", &m, &call), CORRAL_ENOTFOUND);
    assert_non_null(strstr(call.message, "linux/s390x"));
    /* Refusals. */
    static const char *const bad[] = {
        "not json",
        "[]",
        "{\"schemaVersion\":1}",
        "{\"schemaVersion\":2,\"mediaType\":\"text/html\"}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":-1},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":1.5},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":1e300},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":1},\"layers\":{}}",
        ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":1},\"layers\":[{\"mediaType\":"
         "\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"digest\":\"" DG "\",\"size\":1}]}"),
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG "\",\"size\":1},\"layers\":[7]}",
        "{\"schemaVersion\":2,\"manifests\":7}",
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"platform\":"
         "{\"os\":\"linux\",\"architecture\":\"amd64\"},\"digest\":\"../../x\",\"size\":1}]}"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        corral_call_init(&call, 0);
        if (parse(bad[i], NULL, &m, &call) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_true(call.message[0] != '\0');
        assert_null(m.layers);
    }
    const char *cfg = "{\"config\":{\"Env\":[\"A=1\"]},\"rootfs\":{\"diff_ids\":[\"" DG "\"]}}";
    assert_int_equal(crl_image_config_check(cfg, strlen(cfg), 1, &call), 0);
    assert_int_equal(crl_image_config_check(cfg, strlen(cfg), 2, &call), CORRAL_EPROTO);
    assert_int_equal(crl_image_config_check("[]", 2, 0, &call), CORRAL_EPROTO);
}

/* ---- layers ---- */

enum kind { F, D, L, H, C };
struct ent {
    enum kind k;
    const char *name, *data;
};

static void make_layer(const char *path, const struct ent *e, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_mtime(ae, 1700000000, 0);
        switch (e[i].k) {
        case F:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, 0644);
            archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
            break;
        case D:
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_perm(ae, e[i].data ? 0555 : 0755);
            break;
        case L:
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_perm(ae, 0777);
            archive_entry_set_symlink(ae, e[i].data);
            break;
        case H:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_hardlink(ae, e[i].data);
            break;
        case C:
            archive_entry_set_filetype(ae, AE_IFCHR);
            archive_entry_set_perm(ae, 0666);
            archive_entry_set_rdev(ae, makedev(1, 3));
            break;
        }
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].k == F)
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

/* Apply the layer made of e[0..n) over root; returns the status. */
static int apply(int root, const struct ent *e, size_t n, struct corral_call *call)
{
    char path[128];
    snprintf(path, sizeof path, "%s/layer.tgz", tmpdir);
    make_layer(path, e, n);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
    corral_call_init(call, 0);
    int rc = crl_tree_extract(a, root, CRL_TREE_LAYER, call);
    archive_read_free(a);
    return rc;
}

static int exists(int root, const char *p)
{
    struct stat st;
    return fstatat(root, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *slurp(int root, const char *p)
{
    static char buf[256];
    int fd = openat(root, p, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static void test_whiteouts(void **st)
{
    (void)st;
    char rootp[128];
    snprintf(rootp, sizeof rootp, "%s/rootfs", tmpdir);
    mkdir(rootp, 0755);
    int root = open(rootp, O_RDONLY | O_DIRECTORY);
    struct corral_call call;
    const struct ent lower[] = {
        {D, "etc/", NULL},       {F, "etc/a", "a"},       {F, "etc/b", "b"},          {D, "opq/", NULL},
        {F, "opq/old", "old"},   {D, "opq/sub/", NULL},   {F, "opq/sub/deep", "deep"}, {D, "ro/", "ro"},
        {F, "ro/f", "f"},        {D, "tree/", NULL},      {F, "tree/x/y", "y"},        {F, "file2dir", "f"},
        {F, "keep", "k"},
    };
    assert_int_equal(apply(root, lower, sizeof lower / sizeof lower[0], &call), 0);
    /* The read-only directory stays writable by its owner for later layers. */
    struct stat sb;
    assert_int_equal(fstatat(root, "ro", &sb, 0), 0);
    assert_int_equal(sb.st_mode & 0700, 0700);
    const struct ent upper[] = {
        {F, "opq/new", "new"},          /* before the marker: this layer's, kept */
        {D, "opq/sub/", NULL},          /* a directory of this layer... */
        {F, "opq/sub/mine", "mine"},    /* ...whose lower content still goes */
        {F, "opq/.wh..wh..opq", ""},
        {F, "etc/.wh.a", ""},
        {F, "ro/.wh.f", ""},
        {F, ".wh.tree", ""},            /* a whole directory */
        {F, "etc/.wh.missing", ""},     /* nothing to delete: fine */
        {F, "etc/.wh..wh.plnk", ""},    /* aufs metadata: skipped */
        {D, "file2dir/", NULL},         /* a directory replaces a file */
        {F, "file2dir/in", "in"},
        {F, "etc/b", "b2"},
        {L, "linkdir", "/etc"},         /* absolute links are data in a layer */
    };
    assert_int_equal(apply(root, upper, sizeof upper / sizeof upper[0], &call), 0);
    assert_false(exists(root, "etc/a"));
    assert_string_equal(slurp(root, "etc/b"), "b2");
    assert_false(exists(root, "opq/old"));
    assert_false(exists(root, "opq/sub/deep"));
    assert_string_equal(slurp(root, "opq/new"), "new");
    assert_string_equal(slurp(root, "opq/sub/mine"), "mine");
    assert_false(exists(root, "ro/f"));
    assert_false(exists(root, "tree"));
    assert_false(exists(root, "etc/.wh.missing"));
    assert_false(exists(root, "etc/.wh..wh.plnk"));
    assert_false(exists(root, "opq/.wh..wh..opq"));
    assert_string_equal(slurp(root, "file2dir/in"), "in");
    assert_string_equal(slurp(root, "keep"), "k");
    /* A file replaces a non-empty directory. */
    const struct ent t3[] = {{F, "file2dir", "file again"}};
    assert_int_equal(apply(root, t3, 1, &call), 0);
    assert_string_equal(slurp(root, "file2dir"), "file again");
    /* An opaque root hides everything below. */
    const struct ent t4[] = {{F, "only", "1"}, {F, ".wh..wh..opq", ""}};
    assert_int_equal(apply(root, t4, 2, &call), 0);
    assert_true(exists(root, "only"));
    assert_false(exists(root, "etc"));
    assert_false(exists(root, "keep"));
    close(root);
}

static void test_layer_escapes(void **st)
{
    (void)st;
    char rootp[128], outside[128];
    snprintf(rootp, sizeof rootp, "%s/rootfs2", tmpdir);
    snprintf(outside, sizeof outside, "%s/outside", tmpdir);
    mkdir(rootp, 0755);
    mkdir(outside, 0755);
    int root = open(rootp, O_RDONLY | O_DIRECTORY);
    struct corral_call call;
    const struct ent esc_link[] = {{L, "l", "../outside"}, {F, "l/pwned", "x"}};
    assert_int_equal(apply(root, esc_link, 2, &call), CORRAL_EPERM);
    assert_non_null(strstr(call.message, "symlink"));
    const struct ent dotdot[] = {{F, "../outside/pwned", "x"}};
    assert_int_equal(apply(root, dotdot, 1, &call), CORRAL_EPERM);
    assert_non_null(strstr(call.message, ".."));
    const struct ent absol[] = {{F, "/tmp/pwned", "x"}};
    assert_int_equal(apply(root, absol, 1, &call), CORRAL_EPERM);
    /* A device node is left out (no unprivileged process makes one). */
    const struct ent dev[] = {{C, "null", NULL}, {F, "after-null", "a"}};
    assert_int_equal(apply(root, dev, 2, &call), 0);
    assert_false(exists(root, "null"));
    assert_true(exists(root, "after-null"));
    const struct ent wh_link[] = {{L, "w", "../outside"}, {F, "w/.wh.victim", ""}};
    char victim[160];
    snprintf(victim, sizeof victim, "%s/victim", outside);
    write_file(victim, "v");
    int rc = apply(root, wh_link, 2, &call);
    assert_int_equal(rc, CORRAL_EPERM); /* the whiteout's directory is a symlink: not followed */
    assert_int_equal(access(victim, F_OK), 0);
    const struct ent hl[] = {{H, "h", "../outside/victim"}};
    assert_int_equal(apply(root, hl, 1, &call), CORRAL_EPERM);
    const struct ent whdot[] = {{F, "etc/.wh..", ""}};
    assert_int_equal(apply(root, whdot, 1, &call), CORRAL_EPERM);
    assert_int_equal(access(victim, F_OK), 0);
    DIR *d = opendir(outside);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 1); /* only the victim */
    close(root);
}

/* The config's User against the image's own passwd and group text. */
static void test_user_ids(void **st)
{
    (void)st;
    const char *pw = "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\nagent:x:1000:1001::/home/agent:/bin/sh\n"
                     "odd:x:12:notanumber::/:/bin/sh\nlast:x:2000:2000::/:/bin/sh";
    const char *gr = "root:x:0:\nstaff:x:50:agent\nwheel:x:10:";
    struct corral_call call;
    corral_call_init(&call, 0);
    uint32_t uid = 99, gid = 99;
    assert_int_equal(crl_image_user_ids("agent", pw, gr, &uid, &gid, &call), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(gid, 1001); /* the passwd entry's group */
    assert_int_equal(crl_image_user_ids("agent:staff", pw, gr, &uid, &gid, &call), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(gid, 50);
    assert_int_equal(crl_image_user_ids("last", pw, gr, &uid, &gid, &call), 0); /* no final newline */
    assert_int_equal(uid, 2000);
    assert_int_equal(crl_image_user_ids("1000", pw, gr, &uid, &gid, &call), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(gid, 1001); /* a numeric uid in passwd: its group */
    assert_int_equal(crl_image_user_ids("4242", NULL, NULL, &uid, &gid, &call), 0);
    assert_int_equal(uid, 4242);
    assert_int_equal(gid, 0); /* not in passwd: group 0, as Docker */
    assert_int_equal(crl_image_user_ids("4242:77", NULL, NULL, &uid, &gid, &call), 0);
    assert_int_equal(gid, 77);
    assert_int_equal(crl_image_user_ids("root", pw, gr, &uid, &gid, &call), 0);
    assert_int_equal(uid + gid, 0);
    /* Unknown names, bad forms, out-of-range ids: refused, naming them. */
    assert_int_equal(crl_image_user_ids("nobody", pw, gr, &uid, &gid, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "'nobody' is not in the image's /etc/passwd"));
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids("agent:nogroup", pw, gr, &uid, &gid, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "'nogroup' is not in the image's /etc/group"));
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids("odd", pw, gr, &uid, &gid, &call), CORRAL_EINVAL);
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids("agent", NULL, gr, &uid, &gid, &call), CORRAL_EINVAL);
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids(":0", pw, gr, &uid, &gid, &call), CORRAL_EINVAL);
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids("agent:", pw, gr, &uid, &gid, &call), CORRAL_EINVAL);
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids("4294967295", pw, gr, &uid, &gid, &call), CORRAL_EINVAL);
    corral_call_init(&call, 0);
    assert_int_equal(crl_image_user_ids("x:x:x", pw, "x:x:x:\n", &uid, &gid, &call), CORRAL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_normalise),
        cmocka_unit_test(test_ref_refused),
        cmocka_unit_test(test_www_auth),
        cmocka_unit_test_setup_teardown(test_login, make_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(test_pull_sources, make_tmp, rm_tmp),
        cmocka_unit_test(test_manifest),
        cmocka_unit_test_setup_teardown(test_whiteouts, make_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(test_layer_escapes, make_tmp, rm_tmp),
        cmocka_unit_test(test_user_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
