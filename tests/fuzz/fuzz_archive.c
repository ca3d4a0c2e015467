/* Fuzz target: corral_archive_extract_safe() on arbitrary bytes must never
 * create anything outside its target directory, whatever it accepts or
 * refuses.  Built like every harness (tests/fuzz/CMakeLists.txt): a
 * libFuzzer target with -DCORRAL_FUZZ=ON, else replayed over corpus/archive
 * in ctest.  The scratch root is removed at exit. */
#include "sandbox/sandbox_internal.h"

#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

struct mem { const uint8_t *d; size_t n, off; };

static long mem_read(void *ud, void *buf, size_t cap)
{
    struct mem *m = ud;
    size_t k = m->n - m->off < cap ? m->n - m->off : cap;
    memcpy(buf, m->d + m->off, k);
    m->off += k;
    return (long)k;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (ftw->level > 0)
        remove(p);
    return 0;
}

/* Everything in root other than "t" was written by an escape. */
static void remove_root(void)
{
    nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(root);
}

static int only_target_in_root(void)
{
    DIR *d = opendir(root);
    if (!d)
        return 0;
    struct dirent *e;
    int ok = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "t")) {
            fprintf(stderr, "fuzz_archive: ESCAPE: %s/%s was created\n", root, e->d_name);
            ok = 0;
        }
    closedir(d);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/corral-fuzz-XXXXXX");
        if (!mkdtemp(root))
            abort();
        atexit(remove_root);
    }
    char t[96];
    snprintf(t, sizeof t, "%s/t", root);
    nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(t, 0755);
    struct mem m = { data, size, 0 };
    struct corral_source src = { .struct_size = sizeof src, .read = mem_read, .ud = &m, .length = (int64_t)size };
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_archive_extract_safe(&src, t, &call);
    if (!only_target_in_root())
        abort();
    return 0;
}
