/* Test helpers: a private configuration environment per test. */
#ifndef CORRAL_TESTENV_H
#define CORRAL_TESTENV_H

#include <corral/corral.h>

/* Make a fresh temp dir, point CORRAL_CONFIG_DIR, XDG_CONFIG_HOME and HOME
 * into it, and clear CORRAL_PLUGIN_PATH.  Returns the dir (static buffer). */
const char *testenv_setup(void);
/* cmocka fixtures wrapping testenv_setup()/testenv_teardown(). */
int testenv_fixture_setup(void **state);
int testenv_fixture_teardown(void **state);
/* Remove the temp dir made by testenv_setup(). */
void testenv_teardown(void);
/* Write `text` to <testenv dir>/<rel>, creating parents; returns the full path (static). */
const char *testenv_write(const char *rel, const char *text);
/* Open a context with the given plugin dirs and optional --config file. */
corral_ctx *testenv_open(const char *const *dirs, const char *config_file, int *status);
/* The record for kind/name (any status) among those from `dir_suffix`, or NULL. */
const struct corral_plugin_record *testenv_record(corral_ctx *ctx, int kind, const char *name,
                                                  const char *dir_suffix);

#endif
