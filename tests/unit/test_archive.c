/* Archive safety: malicious tars are refused and nothing lands outside
 * the target; good trees round-trip through persist/hydrate. */
#include "archive/archive_internal.h"
#include "base/internal.h" /* crl_sandbox_table_new */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

static char base[256], target[300], outside[300], tarpath[300];

static int setup(void **st)
{
    (void)st;
    snprintf(base, sizeof base, "/tmp/corral-test-archive-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(target, sizeof target, "%s/target", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    snprintf(tarpath, sizeof tarpath, "%s/in.tar", base);
    mkdir(target, 0755);
    mkdir(outside, 0755);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Entries: type 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' chardev, 'p' fifo. */
struct ent { char type; const char *path; const char *arg; };

static void write_tar(const char *path, const struct ent *ents, const char *filter)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter && !strcmp(filter, "gz"))
        archive_write_add_filter_gzip(a);
    if (filter && !strcmp(filter, "zst"))
        archive_write_add_filter_zstd(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (const struct ent *e = ents; e->type; e++) {
        struct archive_entry *x = archive_entry_new();
        archive_entry_set_pathname(x, e->path);
        archive_entry_set_perm(x, 0644);
        switch (e->type) {
        case 'f':
            archive_entry_set_filetype(x, AE_IFREG);
            archive_entry_set_size(x, e->arg ? (la_int64_t)strlen(e->arg) : 0);
            break;
        case 'x': /* setuid file */
            archive_entry_set_filetype(x, AE_IFREG);
            archive_entry_set_perm(x, 04755);
            archive_entry_set_size(x, 0);
            break;
        case 'd':
            archive_entry_set_filetype(x, AE_IFDIR);
            archive_entry_set_perm(x, 0755);
            break;
        case 'l':
            archive_entry_set_filetype(x, AE_IFLNK);
            archive_entry_set_symlink(x, e->arg);
            break;
        case 'h':
            archive_entry_set_filetype(x, AE_IFREG);
            archive_entry_set_hardlink(x, e->arg);
            break;
        case 'c':
            archive_entry_set_filetype(x, AE_IFCHR);
            archive_entry_set_rdev(x, makedev(1, 3));
            break;
        case 'p':
            archive_entry_set_filetype(x, AE_IFIFO);
            break;
        }
        assert_int_equal(archive_write_header(a, x), ARCHIVE_OK);
        if (e->type == 'f' && e->arg)
            archive_write_data(a, e->arg, strlen(e->arg));
        archive_entry_free(x);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void expect_refused(const struct ent *ents, const char *why)
{
    write_tar(tarpath, ents, NULL);
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = corral_archive_extract_file(tarpath, target, &call);
    assert_int_equal(rc, CORRAL_EPERM);
    if (why && !strstr(call.message, why))
        fail_msg("message '%s' lacks '%s'", call.message, why);
    assert_int_equal(count_entries(outside), 0);
    char evil[PATH_MAX + 16];
    snprintf(evil, sizeof evil, "%s/evil", base);
    assert_int_not_equal(access(evil, F_OK), 0);
}

static void test_absolute_refused(void **st)
{
    (void)st;
    char abs[PATH_MAX + 16];
    snprintf(abs, sizeof abs, "%s/evil", outside);
    struct ent e[] = { { 'f', "ok.txt", "fine" }, { 'f', abs, "pwned" }, { 0 } };
    expect_refused(e, "absolute");
}

static void test_dotdot_refused(void **st)
{
    (void)st;
    struct ent e1[] = { { 'f', "../evil", "pwned" }, { 0 } };
    expect_refused(e1, "..");
    struct ent e2[] = { { 'd', "a", NULL }, { 'f', "a/../../outside/evil", "pwned" }, { 0 } };
    expect_refused(e2, "..");
}

static void test_symlink_escape_refused(void **st)
{
    (void)st;
    struct ent e1[] = { { 'l', "link", "../outside" }, { 'f', "link/evil", "pwned" }, { 0 } };
    expect_refused(e1, "escapes");
    struct ent e2[] = { { 'l', "abs", "/etc" }, { 0 } };
    expect_refused(e2, "absolute");
    struct ent e3[] = { { 'd', "a", NULL }, { 'l', "a/up", "../../outside" }, { 0 } };
    expect_refused(e3, "escapes");
    struct ent e4[] = { { 'l', "d", ".." }, { 0 } };
    expect_refused(e4, "escapes");
}

static void test_hardlink_escape_refused(void **st)
{
    (void)st;
    char secret[PATH_MAX + 16];
    snprintf(secret, sizeof secret, "%s/secret", base);
    FILE *f = fopen(secret, "w");
    fputs("secret", f);
    fclose(f);
    struct ent e1[] = { { 'h', "h", "../secret" }, { 0 } };
    expect_refused(e1, "hardlink");
    struct ent e2[] = { { 'h', "h", secret }, { 0 } };
    expect_refused(e2, "hardlink");
    unlink(secret);
}

static void test_device_and_fifo_refused(void **st)
{
    (void)st;
    struct ent e1[] = { { 'c', "null", NULL }, { 0 } };
    expect_refused(e1, "device");
    struct ent e2[] = { { 'p', "fifo", NULL }, { 0 } };
    expect_refused(e2, "device");
}

static void test_existing_symlink_not_followed(void **st)
{
    (void)st;
    /* A link already in the target that points outside must not be
     * written through. */
    char l[PATH_MAX + 32];
    snprintf(l, sizeof l, "%s/escape", target);
    assert_int_equal(symlink(outside, l), 0);
    struct ent e[] = { { 'f', "escape/evil", "pwned" }, { 0 } };
    write_tar(tarpath, e, NULL);
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_not_equal(corral_archive_extract_file(tarpath, target, &call), 0);
    assert_int_equal(count_entries(outside), 0);
    unlink(l);
}

static void test_good_tree_extracts(void **st)
{
    (void)st;
    struct ent e[] = {
        { 'd', "./", NULL }, { 'd', "./a", NULL }, { 'f', "./a/hello", "hello" }, { 'f', "./empty", NULL },
        { 'l', "./a/link", "hello" }, { 'l', "./up", "a/../a/hello" }, { 'h', "./a/hard", "a/hello" },
        { 'x', "./suid", NULL }, { 0 },
    };
    static const char *const filters[] = { NULL, "gz", "zst" };
    for (int i = 0; i < 3; i++) {
        char sub[PATH_MAX + 32];
        snprintf(sub, sizeof sub, "%s/good%d", target, i);
        mkdir(sub, 0755);
        write_tar(tarpath, e, filters[i]);
        struct corral_call call;
        corral_call_init(&call, 0);
        int rc = corral_archive_extract_file(tarpath, sub, &call);
        if (rc)
            fail_msg("extract: %s", call.message);
        char p[PATH_MAX + 64], buf[32];
        snprintf(p, sizeof p, "%s/a/hard", sub);
        FILE *f = fopen(p, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "hello", 5);
        snprintf(p, sizeof p, "%s/a/link", sub);
        ssize_t ln = readlink(p, buf, sizeof buf - 1);
        assert_int_equal(ln, 5);
        struct stat s;
        snprintf(p, sizeof p, "%s/empty", sub);
        assert_int_equal(stat(p, &s), 0);
        assert_int_equal(s.st_size, 0);
        snprintf(p, sizeof p, "%s/suid", sub);
        assert_int_equal(lstat(p, &s), 0);
        assert_int_equal(s.st_mode & 07000, 0); /* setuid stripped */
    }
    assert_int_equal(count_entries(outside), 0);
}

/* ---- persist/hydrate through a fake sandbox that only streams tars ---- */

struct fake { const char *tar_to_send; size_t trailing_zeros; char *got; size_t got_len; };
static struct fake F;

static int f_get_archive(corral_sbx *s, const char *dir, const struct corral_sink *sink, corral_call *call)
{
    (void)s;
    (void)dir;
    (void)call;
    FILE *f = fopen(F.tar_to_send, "rb");
    if (!f)
        return CORRAL_EIO;
    char buf[4096];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(buf, 1, sizeof buf, f)) > 0)
        rc = sink->write(sink->ud, buf, n);
    fclose(f);
    memset(buf, 0, sizeof buf);
    for (size_t left = F.trailing_zeros; !rc && left;) {
        size_t k = left < sizeof buf ? left : sizeof buf;
        rc = sink->write(sink->ud, buf, k);
        left -= k;
    }
    return rc;
}

static int f_put_archive(corral_sbx *s, const char *dir, const struct corral_source *src, corral_call *call)
{
    (void)s;
    (void)dir;
    (void)call;
    char buf[1000]; /* odd size on purpose */
    long n;
    while ((n = src->read(src->ud, buf, sizeof buf)) > 0) {
        F.got = realloc(F.got, F.got_len + (size_t)n);
        memcpy(F.got + F.got_len, buf, (size_t)n);
        F.got_len += (size_t)n;
    }
    return n < 0 ? (int)n : 0;
}

static int f_exec(corral_sbx *s, const struct corral_exec_request *r, struct corral_exec_result *res, corral_call *c)
{
    (void)s; (void)r; (void)res; (void)c;
    return CORRAL_ENOTSUP;
}
static int f_destroy(corral_sbx *s, corral_call *c) { (void)s; (void)c; return 0; }
static void f_close(corral_sbx *s) { (void)s; }

static const struct corral_sandbox_ops FOPS = {
    .struct_size = sizeof FOPS, .exec = f_exec, .destroy = f_destroy, .close = f_close,
    .get_archive = f_get_archive, .put_archive = f_put_archive,
};

static void fake_sandbox(corral_sandbox *sb)
{
    static struct crl_sandbox_table *tbl; /* completed once, as the loader does */
    if (!tbl)
        tbl = crl_sandbox_table_new(&FOPS);
    assert_non_null(tbl);
    memset(sb, 0, sizeof *sb);
    sb->ops = &FOPS;
    sb->tbl = tbl;
    snprintf(sb->id, sizeof sb->id, "fake-0123456789abcdef");
    snprintf(sb->backend, sizeof sb->backend, "fake");
}

static void test_persist_refuses_malicious_stream(void **st)
{
    (void)st;
    corral_sandbox sb;
    fake_sandbox(&sb);
    struct ent e[] = { { 'f', "fine", "x" }, { 'f', "../evil", "pwned" }, { 0 } };
    write_tar(tarpath, e, NULL);
    F.tar_to_send = tarpath;
    char out[PATH_MAX + 16];
    struct corral_call call;
    corral_call_init(&call, 0);
    snprintf(out, sizeof out, "%s/persisted", outside);
    assert_int_equal(corral_sandbox_persist(&sb, "/w", out, &call), CORRAL_EPERM);
    /* the output dir was made but nothing escaped it */
    char evil[PATH_MAX + 16];
    snprintf(evil, sizeof evil, "%s/evil", outside);
    assert_int_not_equal(access(evil, F_OK), 0);
    /* into a .tar.gz: refused too, and no partial file remains */
    snprintf(out, sizeof out, "%s/p.tar.gz", base);
    assert_int_equal(corral_sandbox_persist(&sb, "/w", out, &call), CORRAL_EPERM);
    assert_int_not_equal(access(out, F_OK), 0);
    char part[PATH_MAX + 32];
    snprintf(part, sizeof part, "%s.part", out);
    assert_int_not_equal(access(part, F_OK), 0);
    snprintf(out, sizeof out, "rm -rf '%s/persisted'", outside);
    assert_int_equal(system(out), 0);
}

static void test_persist_tolerates_trailing_padding(void **st)
{
    (void)st;
    corral_sandbox sb;
    fake_sandbox(&sb);
    struct ent e[] = { { 'f', "a", "alpha" }, { 0 } };
    write_tar(tarpath, e, NULL);
    F.tar_to_send = tarpath;
    F.trailing_zeros = 3u << 20; /* far more than any socket buffer */
    char out[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/padded.tar.gz", base);
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = corral_sandbox_persist(&sb, "/w", out, &call);
    F.trailing_zeros = 0;
    if (rc)
        fail_msg("persist: %s", call.message);
    char sub[PATH_MAX + 32], p[PATH_MAX + 64];
    snprintf(sub, sizeof sub, "%s/padded", target);
    mkdir(sub, 0755);
    assert_int_equal(corral_archive_extract_file(out, sub, &call), 0);
    snprintf(p, sizeof p, "%s/a", sub);
    assert_int_equal(access(p, F_OK), 0);
}

static void test_hydrate_roundtrip_and_refusal(void **st)
{
    (void)st;
    corral_sandbox sb;
    fake_sandbox(&sb);
    /* big enough to need many source reads, with an empty file and links */
    struct ent e[] = { { 'd', "d", NULL }, { 'f', "d/a", "alpha" }, { 'f', "d/empty", NULL },
                       { 'l', "d/l", "a" }, { 0 } };
    char gz[PATH_MAX + 16];
    snprintf(gz, sizeof gz, "%s/in.tar.zst", base);
    write_tar(gz, e, "zst");
    struct corral_call call;
    corral_call_init(&call, 0);
    free(F.got);
    F.got = NULL;
    F.got_len = 0;
    int rc = corral_sandbox_hydrate(&sb, gz, "/w", &call);
    if (rc)
        fail_msg("hydrate: %s", call.message);
    assert_true(F.got_len >= 1024);
    /* what the sandbox received is a plain tar our own safe extractor takes */
    char got[PATH_MAX + 16], sub[PATH_MAX + 32];
    snprintf(got, sizeof got, "%s/got.tar", base);
    FILE *f = fopen(got, "wb");
    fwrite(F.got, 1, F.got_len, f);
    fclose(f);
    assert_true(F.got[257] == 'u' && F.got[258] == 's'); /* "ustar" magic: uncompressed */
    snprintf(sub, sizeof sub, "%s/hyd", target);
    mkdir(sub, 0755);
    rc = corral_archive_extract_file(got, sub, &call);
    if (rc)
        fail_msg("extract: %s", call.message);
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/d/empty", sub);
    assert_int_equal(access(p, F_OK), 0);
    /* hydrate from a directory (the tree just extracted) */
    free(F.got);
    F.got = NULL;
    F.got_len = 0;
    rc = corral_sandbox_hydrate(&sb, sub, "/w", &call);
    if (rc)
        fail_msg("hydrate dir: %s", call.message);
    snprintf(got, sizeof got, "%s/got2.tar", base);
    f = fopen(got, "wb");
    fwrite(F.got, 1, F.got_len, f);
    fclose(f);
    snprintf(sub, sizeof sub, "%s/hyd2", target);
    mkdir(sub, 0755);
    assert_int_equal(corral_archive_extract_file(got, sub, &call), 0);
    snprintf(p, sizeof p, "%s/d/l", sub);
    char buf[16];
    assert_int_equal(readlink(p, buf, sizeof buf), 1);
    /* a malicious input file never reaches the sandbox intact */
    struct ent bad[] = { { 'f', "ok", "x" }, { 'f', "/etc/cron.d/evil", "x" }, { 0 } };
    write_tar(tarpath, bad, NULL);
    assert_int_equal(corral_sandbox_hydrate(&sb, tarpath, "/w", &call), CORRAL_EPERM);
    assert_non_null(strstr(call.message, "absolute"));
    struct ent bad2[] = { { 'f', "a/../../x", "x" }, { 0 } };
    write_tar(tarpath, bad2, NULL);
    assert_int_equal(corral_sandbox_hydrate(&sb, tarpath, "/w", &call), CORRAL_EPERM);
    struct ent bad3[] = { { 'p', "fifo", NULL }, { 0 } };
    write_tar(tarpath, bad3, NULL);
    assert_int_equal(corral_sandbox_hydrate(&sb, tarpath, "/w", &call), CORRAL_EPERM);
    /* a venv-style absolute symlink is data for the sandbox: it passes into
     * the sandbox and into archive files, but never onto this host */
    struct ent venv[] = { { 'd', "venv/bin", NULL }, { 'l', "venv/bin/python", "/usr/bin/python3" }, { 0 } };
    write_tar(tarpath, venv, NULL);
    free(F.got);
    F.got = NULL;
    F.got_len = 0;
    rc = corral_sandbox_hydrate(&sb, tarpath, "/w", &call);
    if (rc)
        fail_msg("hydrate venv: %s", call.message);
    F.tar_to_send = tarpath;
    char out[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/venv.tar.zst", base);
    rc = corral_sandbox_persist(&sb, "/w", out, &call);
    if (rc)
        fail_msg("persist venv: %s", call.message);
    snprintf(sub, sizeof sub, "%s/venv-host", target);
    mkdir(sub, 0755);
    assert_int_equal(corral_archive_extract_file(out, sub, &call), CORRAL_EPERM);
    assert_non_null(strstr(call.message, "absolute"));
    free(F.got);
    F.got = NULL;
}

/* ---- the dirfd helpers plugins get (archive_extract_at / archive_tree_at) ---- */

struct membuf { char *d; size_t n, off; };

static int membuf_write(void *ud, const void *buf, size_t len)
{
    struct membuf *m = ud;
    char *nd = realloc(m->d, m->n + len);
    if (!nd)
        return CORRAL_ENOMEM;
    memcpy(nd + m->n, buf, len);
    m->d = nd;
    m->n += len;
    return 0;
}

static long membuf_read(void *ud, void *buf, size_t cap)
{
    struct membuf *m = ud;
    size_t k = m->n - m->off < cap ? m->n - m->off : cap;
    memcpy(buf, m->d + m->off, k);
    m->off += k;
    return (long)k;
}

static void put(const char *dir, const char *rel, const char *text)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_tree_helpers_at_dirfd(void **st)
{
    (void)st;
    char src[PATH_MAX + 16], dst[PATH_MAX + 16], p[PATH_MAX + 64];
    snprintf(src, sizeof src, "%s/tsrc", base);
    snprintf(dst, sizeof dst, "%s/tdst", base);
    mkdir(src, 0755);
    mkdir(dst, 0755);
    put(src, "b", "bee");
    put(src, "a", "ay");
    snprintf(p, sizeof p, "%s/e", src); /* empty */
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ro", src);
    mkdir(p, 0755);
    put(src, "ro/inside", "in");
    chmod(p, 0555);
    snprintf(p, sizeof p, "%s/out", src);
    assert_int_equal(symlink(outside, p), 0); /* absolute, leaves the tree */
    /* A path longer than PATH_MAX: nothing here goes by whole paths. */
    int fd = open(src, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    char name[200];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    int cur = dup(fd);
    for (int i = 0; i < 25; i++) {
        assert_int_equal(mkdirat(cur, name, 0755), 0);
        int next = openat(cur, name, O_RDONLY | O_DIRECTORY);
        close(cur);
        cur = next;
    }
    int leaf = openat(cur, "leaf", O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(leaf, "deep", 4), 4);
    close(leaf);
    close(cur);

    struct membuf tar = {0};
    struct corral_sink sink = { .struct_size = sizeof sink, .write = membuf_write, .ud = &tar };
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = crl_archive_tree_at(fd, &sink, 0, &call);
    if (rc)
        fail_msg("tree_at: %s", call.message);
    /* In name order, relative, the link kept as a link. */
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, tar.d, tar.n), ARCHIVE_OK);
    struct archive_entry *e;
    const char *want[] = { "a", "b", "e", "n", "out", "ro", "ro/inside" };
    size_t k = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        char path_buf[PATH_MAX + 64];
        snprintf(path_buf, sizeof path_buf, "%s", archive_entry_pathname(e));
        size_t pl = strlen(path_buf);
        if (pl > 1 && path_buf[pl - 1] == '/') /* directories end in '/' in a tar */
            path_buf[pl - 1] = '\0';
        const char *path = path_buf;
        if (path[0] == 'n') { /* the 25 deep directories and the leaf, one run */
            if (k > 0 && !strcmp(want[k - 1], "n"))
                continue;
            path = "n";
        }
        assert_true(k < 7);
        assert_string_equal(path, want[k]);
        k++;
        if (!strcmp(path, "out"))
            assert_string_equal(archive_entry_symlink(e), outside);
    }
    archive_read_free(a);
    assert_int_equal(k, 7);

    /* Into another tree: a symlink already at a file's place is replaced,
     * never written through; the read-only directory is filled first and
     * made read-only last. */
    snprintf(p, sizeof p, "%s/a", dst);
    char victim[PATH_MAX + 16];
    snprintf(victim, sizeof victim, "%s/victim", outside);
    assert_int_equal(symlink(victim, p), 0);
    int dfd = open(dst, O_RDONLY | O_DIRECTORY);
    struct corral_source in = { .struct_size = sizeof in, .read = membuf_read, .ud = &tar, .length = -1 };
    rc = crl_archive_extract_at(dfd, &in, 0, &call);
    if (rc)
        fail_msg("extract_at: %s", call.message);
    assert_int_not_equal(access(victim, F_OK), 0);
    struct stat s;
    assert_int_equal(lstat(p, &s), 0);
    assert_true(S_ISREG(s.st_mode));
    snprintf(p, sizeof p, "%s/ro", dst);
    assert_int_equal(stat(p, &s), 0);
    assert_int_equal(s.st_mode & 0777, 0555);
    snprintf(p, sizeof p, "%s/ro/inside", dst);
    assert_int_equal(access(p, F_OK), 0);
    char buf[64];
    snprintf(p, sizeof p, "%s/out", dst);
    assert_int_equal(readlink(p, buf, sizeof buf), (ssize_t)strlen(outside));
    /* the deep leaf arrived */
    cur = dup(dfd);
    for (int i = 0; i < 25; i++) {
        int next = openat(cur, name, O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        close(cur);
        cur = next;
    }
    leaf = openat(cur, "leaf", O_RDONLY);
    assert_int_equal(read(leaf, buf, sizeof buf), 4);
    close(leaf);
    close(cur);
    /* Strict: the same stream is refused for its absolute link. */
    tar.off = 0;
    assert_int_equal(crl_archive_extract_at(dfd, &in, CORRAL_ARCHIVE_STRICT_LINKS, &call), CORRAL_EPERM);
    assert_non_null(strstr(call.message, "absolute"));
    /* A fifo in the tree: refused, by name. */
    snprintf(p, sizeof p, "%s/fifo", src);
    assert_int_equal(mkfifo(p, 0644), 0);
    free(tar.d);
    tar = (struct membuf){0};
    assert_int_equal(crl_archive_tree_at(fd, &sink, 0, &call), CORRAL_EPERM);
    assert_non_null(strstr(call.message, "fifo"));
    free(tar.d);
    close(fd);
    close(dfd);
    snprintf(p, sizeof p, "%s/ro", src);
    chmod(p, 0755);
    snprintf(p, sizeof p, "%s/ro", dst);
    chmod(p, 0755);
    assert_int_equal(count_entries(outside), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_refused),
        cmocka_unit_test(test_dotdot_refused),
        cmocka_unit_test(test_symlink_escape_refused),
        cmocka_unit_test(test_hardlink_escape_refused),
        cmocka_unit_test(test_device_and_fifo_refused),
        cmocka_unit_test(test_existing_symlink_not_followed),
        cmocka_unit_test(test_good_tree_extracts),
        cmocka_unit_test(test_persist_refuses_malicious_stream),
        cmocka_unit_test(test_persist_tolerates_trailing_padding),
        cmocka_unit_test(test_hydrate_roundtrip_and_refusal),
        cmocka_unit_test(test_tree_helpers_at_dirfd),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
