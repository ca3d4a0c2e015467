/* Private to the sandbox host layer (sandbox*.c, archive.c). */
#ifndef CORRAL_SANDBOX_INTERNAL_H
#define CORRAL_SANDBOX_INTERNAL_H

#include <corral/sandbox_host.h>

struct corral_sandbox {
    const struct corral_plugin_record *rec;
    const struct corral_sandbox_ops *ops;
    void *ps;                   /* the plugin's init() state */
    corral_sbx *sbx;            /* the plugin's handle */
    char id[96];
    char backend[64];
};

struct corral_sandbox_job {
    corral_job *native;         /* native spawn, else emulated */
    char marker[160];           /* emulated: marker path prefix inside the sandbox */
    int64_t deadline_ms;        /* emulated: monotonic timeout, 0 = none */
    int done;
    struct corral_exec_result res;
};

/* A sink that writes every chunk into a fixed-size buffer, failing with
 * CORRAL_EIO past its end (for small probes). */
struct sbx_membuf { char *buf; size_t len, cap; };
int sbx_membuf_write(void *ud, const void *buf, size_t len);

/* Run argv (NULL-terminated) in the sandbox with optional stdin, capturing
 * stdout into out (may be NULL) and stderr into err (may be NULL).
 * Returns the plugin's status; res gets the exit. */
int sbx_exec_argv(corral_sandbox *sb, const char *const *argv, const void *in, size_t in_len,
                  const struct corral_sink *out, struct corral_capture *err, struct corral_exec_result *res,
                  struct corral_call *call);

/* Emulations (sandbox_emul.c). */
int sbx_emul_read_file(corral_sandbox *sb, const char *path, const struct corral_sink *sink, struct corral_call *call);
int sbx_emul_write_file(corral_sandbox *sb, const char *path, const struct corral_source *src, uint32_t mode,
                        struct corral_call *call);
int sbx_emul_put_archive(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                         struct corral_call *call);
int sbx_emul_get_archive(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                         struct corral_call *call);
int sbx_emul_spawn(corral_sandbox *sb, const struct corral_exec_request *req, corral_sandbox_job *job,
                   struct corral_call *call);
int sbx_emul_job_wait(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                      struct corral_exec_result *res, struct corral_call *call);
int sbx_emul_job_kill(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call);

/* Parse "k=v" labels for key; returns a pointer into the label or NULL. */
const char *sbx_label_get(const char *const *labels, const char *key);

#endif
