/* common/archive_stream.c: corral sources and sinks under libarchive, the
 * in-memory writer and the entry-by-entry copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crl_archive.h"

/* A tar in memory with the given names (a trailing '/' makes a directory)
 * and, for files, their name repeated 5000 times as content. */
static struct crl_buf make_tar(const char *const *names)
{
    struct crl_ar_mem m = {0};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(crl_ar_open_mem(a, &m), ARCHIVE_OK);
    for (size_t i = 0; names[i]; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t n = strlen(names[i]);
        int dir = names[i][n - 1] == '/';
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, dir ? 0 : (la_int64_t)(n * 5000));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        for (int k = 0; !dir && k < 5000; k++)
            assert_int_equal(archive_write_data(a, names[i], n), (la_ssize_t)n);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    assert_false(m.oom);
    return m.buf;
}

struct memsrc {
    const char *p;
    size_t len, off;
    int fail_at; /* fail once off passes this (0: never) */
};

static long memsrc_read(void *ud, void *buf, size_t cap)
{
    struct memsrc *s = ud;
    if (s->fail_at && s->off >= (size_t)s->fail_at)
        return CORRAL_EIO;
    size_t n = s->len - s->off < cap ? s->len - s->off : cap;
    if (n > 1000) /* small reads: the archive arrives in pieces */
        n = 1000;
    memcpy(buf, s->p + s->off, n);
    s->off += n;
    return (long)n;
}

/* Drop "skip/", strip a leading "top/", refuse "bad". */
static int rename_entry(void *ud, struct archive_entry *e)
{
    int *seen = ud;
    ++*seen;
    const char *name = archive_entry_pathname(e);
    if (strcmp(name, "bad") == 0)
        return CORRAL_EPERM;
    if (strcmp(name, "skip/") == 0)
        return 0;
    if (strncmp(name, "top/", 4) == 0) {
        char *rest = strdup(name + 4);
        archive_entry_set_pathname(e, rest);
        free(rest);
    }
    return 1;
}

/* Run in -> crl_ar_copy -> sink; the copy's status. */
static int copy_through(struct memsrc *ms, struct crl_buf_sink *bs, int *seen, struct archive **failed)
{
    struct corral_source src = {.struct_size = sizeof src, .read = memsrc_read, .ud = ms, .length = -1};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = crl_buf_sink_write, .ud = bs};
    struct crl_ar_source *s = calloc(1, sizeof *s);
    s->src = &src;
    struct crl_ar_sink k = {.sink = &sink};
    struct archive *in = archive_read_new(), *out = archive_write_new();
    archive_read_support_format_tar(in);
    archive_write_set_format_pax_restricted(out);
    assert_int_equal(crl_ar_open_source(in, s), ARCHIVE_OK);
    assert_int_equal(crl_ar_open_sink(out, &k), ARCHIVE_OK);
    int rc = crl_ar_copy(in, out, rename_entry, seen, failed);
    if (rc == 0 && archive_write_close(out) != ARCHIVE_OK)
        rc = -1000;
    if (*failed == in)
        assert_int_equal(s->status, ms->fail_at ? CORRAL_EIO : 0);
    archive_read_free(in);
    archive_write_free(out);
    free(s);
    return rc;
}

static void copy_renames_skips_and_keeps_data(void **state)
{
    (void)state;
    const char *const names[] = {"top/a.txt", "skip/", "top/d/", "top/d/b.txt", NULL};
    struct crl_buf tar = make_tar(names);
    struct memsrc ms = {tar.p, tar.len, 0, 0};
    struct crl_buf_sink bs = {.max = (size_t)16 << 20};
    int seen = 0;
    struct archive *failed = (struct archive *)1;
    assert_int_equal(copy_through(&ms, &bs, &seen, &failed), 0);
    assert_null(failed);
    assert_int_equal(seen, 4);

    struct archive *r = archive_read_new();
    archive_read_support_format_tar(r);
    assert_int_equal(archive_read_open_memory(r, bs.buf.p, bs.buf.len), ARCHIVE_OK);
    struct archive_entry *e;
    const char *want[] = {"a.txt", "d/", "d/b.txt"};
    const char *content[] = {"top/a.txt", NULL, "top/d/b.txt"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(archive_read_next_header(r, &e), ARCHIVE_OK);
        assert_string_equal(archive_entry_pathname(e), want[i]);
        if (!content[i])
            continue;
        size_t n = strlen(content[i]);
        assert_int_equal(archive_entry_size(e), (la_int64_t)(n * 5000));
        char *data = malloc(n * 5000);
        assert_int_equal(archive_read_data(r, data, n * 5000), (la_ssize_t)(n * 5000));
        for (int k = 0; k < 5000; k++)
            assert_memory_equal(data + k * n, content[i], n);
        free(data);
    }
    assert_int_equal(archive_read_next_header(r, &e), ARCHIVE_EOF);
    archive_read_free(r);
    crl_buf_free(&bs.buf);
    crl_buf_free(&tar);
}

static void copy_reports_which_side_failed(void **state)
{
    (void)state;
    const char *const names[] = {"top/a.txt", "top/b.txt", NULL};
    struct crl_buf tar = make_tar(names);
    struct archive *failed;
    int seen = 0;

    /* The consumer stops: the writer failed, the sink's status kept. */
    struct memsrc ms = {tar.p, tar.len, 0, 0};
    struct crl_buf_sink small = {.max = 20000};
    int rc = copy_through(&ms, &small, &seen, &failed);
    assert_int_equal(rc, CORRAL_EIO);
    assert_non_null(failed);
    crl_buf_free(&small.buf);

    /* The source fails mid-way: the reader failed, the source's status kept. */
    struct memsrc broken = {tar.p, tar.len, 0, 30000};
    struct crl_buf_sink bs = {.max = (size_t)16 << 20};
    rc = copy_through(&broken, &bs, &seen, &failed);
    assert_int_equal(rc, CORRAL_EPROTO);
    assert_non_null(failed);
    crl_buf_free(&bs.buf);
    crl_buf_free(&tar);

    /* The callback refuses: its status, nothing failed in libarchive. */
    const char *const bad[] = {"top/a.txt", "bad", "top/c.txt", NULL};
    tar = make_tar(bad);
    struct memsrc mb = {tar.p, tar.len, 0, 0};
    struct crl_buf_sink bb = {.max = (size_t)16 << 20};
    seen = 0;
    rc = copy_through(&mb, &bb, &seen, &failed);
    assert_int_equal(rc, CORRAL_EPERM);
    assert_null(failed);
    assert_int_equal(seen, 2); /* stopped at "bad" */
    crl_buf_free(&bb.buf);
    crl_buf_free(&tar);
}

static void mem_hands_out_in_pieces_then_empties(void **state)
{
    (void)state;
    const char *const names[] = {"f.txt", NULL};
    struct crl_buf tar = make_tar(names);
    struct crl_ar_mem m = {0};
    assert_true(crl_ar_mem_drained(&m)); /* nothing written: nothing to take */
    assert_int_equal(crl_buf_add(&m.buf, tar.p, tar.len), 0);
    assert_false(crl_ar_mem_drained(&m));
    char *back = malloc(tar.len);
    size_t got = 0, n;
    while ((n = crl_ar_mem_take(&m, back + got, 777)) > 0) {
        assert_true(n <= 777);
        got += n;
    }
    assert_int_equal(got, tar.len);
    assert_memory_equal(back, tar.p, tar.len);
    assert_true(crl_ar_mem_drained(&m));
    assert_int_equal(m.buf.len, 0); /* emptied for the next writes */
    assert_int_equal(m.off, 0);
    free(back);
    crl_buf_free(&m.buf);
    crl_buf_free(&tar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_renames_skips_and_keeps_data),
        cmocka_unit_test(copy_reports_which_side_failed),
        cmocka_unit_test(mem_hands_out_in_pieces_then_empties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
