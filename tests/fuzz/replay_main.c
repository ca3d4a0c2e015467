/* The replay driver of every fuzz target outside the fuzz build: links the
 * harness as a plain program (so a harness that no longer links fails the
 * normal build, not only the clang fuzz build) and runs its
 * LLVMFuzzerTestOneInput over the files and directories given, as ctest
 * `<target>_replay` does with the target's seed corpus (under the ASan
 * build in CI).  With no argument it runs a few fixed inputs. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a harness, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Runs one file; returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* Runs a file, or every regular file of a directory (not recursive). */
static int replay_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort), rc = n < 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name);
        if (rc == 0 && names[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            (*count)++;
            rc = replay_file(p);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int count = 0;
    if (argc < 2) {
        static const char *const fixed[] = {"", "{}", "[]", "\"", "{\"a\":[1,2,{\"b\":null}]}", "\xff\xfe\x00"};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, count++)
            LLVMFuzzerTestOneInput((const uint8_t *)fixed[i], strlen(fixed[i]) + (i == 5));
    }
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &count) != 0)
            return 1;
    printf("%s: %d inputs replayed\n", argv[0], count);
    return 0;
}
