#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testenv.h"

static char dir[256];

const char *testenv_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/corral-test-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char p[512];
    snprintf(p, sizeof p, "%s/etc", dir);
    mkdir(p, 0755);
    setenv("CORRAL_CONFIG_DIR", p, 1);
    snprintf(p, sizeof p, "%s/xdg", dir);
    setenv("XDG_CONFIG_HOME", p, 1);
    setenv("HOME", dir, 1);
    unsetenv("CORRAL_PLUGIN_PATH");
    return dir;
}

void testenv_teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

const char *testenv_write(const char *rel, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    return path;
}

corral_ctx *testenv_open(const char *const *dirs, const char *config_file, int *status)
{
    struct corral_options o = {
        .struct_size = sizeof o, .config_file = config_file, .plugin_dirs = dirs, .log_level = "error"};
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_ctx *ctx = NULL;
    *status = corral_open(&o, &ctx, &call);
    return ctx;
}

const struct corral_plugin_record *testenv_record(corral_ctx *ctx, int kind, const char *name,
                                                  const char *dir_suffix)
{
    size_t n;
    const struct corral_plugin_record *r = corral_plugins(ctx, &n);
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind != kind || strcmp(r[i].name, name) != 0)
            continue;
        if (dir_suffix && !strstr(r[i].path, dir_suffix))
            continue;
        return &r[i];
    }
    return NULL;
}

int testenv_fixture_setup(void **state)
{
    (void)state;
    testenv_setup();
    return 0;
}

int testenv_fixture_teardown(void **state)
{
    (void)state;
    testenv_teardown();
    return 0;
}
