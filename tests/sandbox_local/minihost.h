/* A minimal host for driving sandbox_local.so in tests: dlopen, the entry
 * point, and the services the plugin uses (fail, deadlines, config).  Used
 * until the test can go through libcorral's loader. */
#ifndef CORRAL_TEST_MINIHOST_H
#define CORRAL_TEST_MINIHOST_H

#include <corral/plugin.h>
#include <corral/sandbox.h>

/* The plugin sees corral_call as opaque; this test host defines its own. */
struct corral_call {
    int64_t deadline_ms;
    const volatile int *cancel;
    int status;
    char message[1024];
};

struct minihost {
    void *dl;
    const struct corral_plugin *desc;
    const struct corral_sandbox_ops *ops;
    void *state;
};

/* Config values the fake config_* accessors answer (NULL = schema default). */
struct minihost_config {
    const char *bwrap;
    const char *state_dir;
    int64_t default_ttl_s;
};

/* Load plugin_path and init it with cfg.  0 or -1 (message on stderr). */
int minihost_open(struct minihost *mh, const char *plugin_path, const struct minihost_config *cfg);
void minihost_close(struct minihost *mh);
/* A fresh call with an optional deadline (ms, 0 = none). */
void minihost_call(struct corral_call *call, int64_t timeout_ms);

#endif
