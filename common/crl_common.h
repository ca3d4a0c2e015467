/* Helpers shared by libcorral and the in-tree plugins, compiled into each
 * of them (a static library, never installed, never part of the plugin
 * ABI: third-party plugins do not see it).  Internal names: crl_. */
#ifndef CORRAL_COMMON_H
#define CORRAL_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <corral/plugin.h>
#include <corral/sandbox.h>

/* ---- base64.c ---- */

/* Standard base64 with padding, as a malloc'ed string the caller frees;
 * NULL when out of memory. */
char *crl_b64_encode(const void *data, size_t n);
/* Decode s[0..n) (standard or URL-safe alphabet, padding optional) into
 * out, which holds at least n / 4 * 3 + 3 bytes; the byte count, or -1 for
 * a character outside the alphabet or a truncated group. */
long crl_b64_decode(const char *s, size_t n, unsigned char *out);

/* ---- buf.c ---- */

/* A growable byte buffer, always NUL-terminated once anything was added.
 * Zero-initialize; the caller owns p (crl_buf_free releases it). */
struct crl_buf {
    char *p;
    size_t len, cap;
};
/* Append data[0..len); 0 or CORRAL_ENOMEM (the buffer is unchanged then). */
int crl_buf_add(struct crl_buf *b, const void *data, size_t len);
/* Append a string / a printf-formatted string; 0 or CORRAL_ENOMEM. */
int crl_buf_puts(struct crl_buf *b, const char *s);
int crl_buf_addf(struct crl_buf *b, const char *fmt, ...) CORRAL_PRINTF(2, 3);
int crl_buf_vaddf(struct crl_buf *b, const char *fmt, va_list ap) CORRAL_PRINTF(2, 0);
void crl_buf_free(struct crl_buf *b);

/* A corral_sink write callback collecting into a crl_buf of at most max
 * bytes: ud is a struct crl_buf_sink.  Past max it fails with CORRAL_EIO
 * and sets over (the bytes before stay).  The caller frees buf. */
struct crl_buf_sink {
    struct crl_buf buf;
    size_t max;
    int over;
};
int crl_buf_sink_write(void *ud, const void *data, size_t len);

/* ---- cmd_json.c ---- */

/* The command of an exec request as a JSON array of strings: its argv, or
 * /bin/sh -c SHELL; prefixed as crl_cmd_prefix_timeout does.  NULL when
 * the request has neither argv nor shell (or out of memory); the caller
 * owns the array. */
cJSON *crl_cmd_json(const struct corral_exec_request *req, int64_t timeout_ms);
/* With timeout_ms > 0, put coreutils `timeout -k 2 SECONDS` in front of
 * the command array cmd (the caller's): its own process group, TERM at
 * the deadline, KILL 2 s later, exit 124. */
void crl_cmd_prefix_timeout(cJSON *cmd, int64_t timeout_ms);
/* The directory inside a cloud sandbox (e2b, islo, hf) that holds
 * corral's own files while a command runs (captured output, staged stdin
 * and env, the exec wrapper's files, background jobs): out of /tmp, which
 * the command uses and a persist of /tmp archives, and mode 0700.  One per
 * user, as the directory is its owner's: CRL_EXEC_DIR for the sandbox's
 * default user, CRL_EXEC_DIR "-<user>" for an explicit one.  /var/tmp
 * because it is writable without root in the services' images (/run and
 * /var/lib are not).  Returns 0, or -1 when user is not a plain name
 * ([A-Za-z0-9._-], not starting with '.' or '-') or it does not fit. */
#define CRL_EXEC_DIR "/var/tmp/corral-exec"
int crl_exec_dir(char *buf, size_t cap, const char *user);

/* ---- env_name.c ---- */

/* True when s (NUL-terminated; NULL is false) / s[0..n) is an environment
 * variable name, ^[A-Za-z_][A-Za-z0-9_]*$ in ASCII whatever the locale. */
int crl_is_env_name(const char *s);
int crl_is_env_name_n(const char *s, size_t n);
/* True when kv is NAME=VALUE (any VALUE) with a valid NAME. */
int crl_is_env_entry(const char *kv);

/* ---- http_header.c ---- */

/* The value of the first header called name (case-insensitive) in a raw
 * header block ("Name: value\r\n" lines), leading blanks dropped, copied
 * into out (cap bytes, truncated to fit, always NUL-terminated).  1 when
 * found, else 0 (out untouched). */
int crl_http_header_value(const char *block, const char *name, char *out, size_t cap);

/* ---- workdir.c ---- */

/* The longest working directory accepted (PATH_MAX less its NUL). */
#define CRL_WORKDIR_MAX 4095
/* Whether path may be a sandbox's working directory (a task's "workdir",
 * `corral sandbox create --workdir`, the local and docker backends'
 * spec.workdir): NULL when it may, else why not, a static phrase that
 * follows the name of the path ("must not be / itself"). */
const char *crl_workdir_refusal(const char *path);

/* ---- host_port.c ---- */

/* Parse "HOST:PORT" or "[IPV6]:PORT" (PORT decimal, 0..65535; an IPv6
 * address must be bracketed): HOST without brackets into host (the
 * caller's, cap bytes), PORT into *port.  0, or -1 for anything else
 * (host and *port untouched then). */
int crl_parse_host_port(const char *s, char *host, size_t cap, uint16_t *port);

/* ---- number.c ---- */

/* strtod as the "C" locale reads it, whatever LC_NUMERIC the process (a
 * library caller) set: "0.5" is one half in a comma locale too.  When the
 * C locale cannot be made (out of memory) nothing is read: *end = s. */
double crl_strtod_c(const char *s, char **end);

/* The whole of s as a decimal integer (an optional '-', then digits: no
 * spaces, '+', hex or octal) from min to max into *out.  0, or -1 for
 * anything else, an overflow included (*out untouched then). */
int crl_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* The whole of s as a non-negative decimal ("5", "0.25", ".5": no sign,
 * exponent, hex, inf or nan) from min to max into *out.  0 or -1. */
int crl_parse_decimal(const char *s, double min, double max, double *out);
/* A number already parsed (a JSON number from a task file or a spec):
 * 0 when v is finite and from min to max, else -1.  crl_number_i64 also
 * stores it, truncated, in *out; converting a double outside int64's range
 * is undefined behaviour, hence this check before every such conversion. */
int crl_number_in(double v, double min, double max);
int crl_number_i64(double v, int64_t min, int64_t max, int64_t *out);

/* The longest any timeout or lifetime may be, in seconds (7 days): in
 * milliseconds, sums of a few of them stay far inside int64_t. */
#define CRL_MAX_TIMEOUT_S ((int64_t)7 * 24 * 3600)

/* ---- state_dir.c ---- */

/* corral's state directory on this host into buf (cap bytes, not created):
 * $CORRAL_STATE_DIR, else $XDG_STATE_HOME/corral, else /var/lib/corral for
 * root, else $HOME/.local/state/corral (relative XDG_STATE_HOME and HOME
 * are ignored, as the XDG spec says).  The registry is its sandboxes/, the
 * local backend's sandboxes its local/.  0, or -1 when CORRAL_STATE_DIR is
 * set but relative, when none applies, or when it does not fit. */
int crl_state_root(char *buf, size_t cap);

/* corral's cache directory on this host into buf (cap bytes, not created):
 * $CORRAL_CACHE_DIR, else /var/cache/corral for root, else
 * $XDG_CACHE_HOME/corral, else $HOME/.cache/corral.  What can be fetched
 * again lives there: agents/ (npm installs), datasets/ (git checkouts).
 * 0, or -1 when CORRAL_CACHE_DIR is relative or the path does not fit. */
int crl_cache_root(char *buf, size_t cap);

/* ---- fs_tree.c ---- */

/* mkdir -p: every missing component of path created with mode.  0 or -errno. */
int crl_mkdir_p(const char *path, mode_t mode);
/* Remove path (a file, or a directory and everything under it, making
 * unreadable directories readable first; symlinks are removed, never
 * followed).  Missing is success.  0 or -errno. */
int crl_rm_rf(const char *path);

/* ---- spawn.c ---- */

/* Run argv[0] (searched on PATH) with argv in dir (NULL: the current one),
 * stdin /dev/null, stdout and stderr appended to log (NULL: discarded);
 * waits.  Its exit status, 128+signal, or -1 when it could not start. */
int crl_spawn_wait(const char *const *argv, const char *dir, const char *log);

/* ---- random.c ---- */

/* nbytes from the kernel's random source as 2*nbytes lowercase hex
 * characters and a NUL into out (the caller's, 2*nbytes+1 long).  For
 * names that must not be guessable (staged files, nonces); 0 or -1. */
int crl_random_hex(char *out, size_t nbytes);

/* ---- time_fmt.c ---- */

/* unix_ms (milliseconds since the epoch) as UTC RFC 3339 with
 * milliseconds, "2026-01-02T03:04:05.678Z", into the caller's out. */
void crl_time_rfc3339_ms(int64_t unix_ms, char out[32]);
/* The wall clock (CLOCK_REALTIME) in milliseconds since the epoch. */
int64_t crl_time_now_unix_ms(void);

/* ---- read_file.c ---- */

/* Every input file (config, task files, replay files, state) is opened
 * with crl_open_regular: never blocking (a FIFO would hang the open or the
 * read forever) and refused unless it is a regular file (*err CRL_ENOTREG,
 * or EISDIR).  With CRL_READ_NOFOLLOW a symlink as the last component is
 * refused too (ELOOP): for files inside an untrusted tree such as a task
 * directory.  path is relative to dirfd (AT_FDCWD for the usual meaning).
 * Returns an fd the caller closes, or -1 with *err set. */
#define CRL_READ_NOFOLLOW 1u
#define CRL_ENOTREG 0x10000 /* not an errno: crl_file_strerror() names it */
int crl_open_regular(int dirfd, const char *path, unsigned flags, int *err);
/* strerror() that also names CRL_ENOTREG and the refused symlink. */
const char *crl_file_strerror(int err);

/* Read the file at path into a NUL-terminated malloc'ed buffer the caller
 * owns; *len (if not NULL) gets its size.  NULL on failure with *err set:
 * errno of open/read, CRL_ENOTREG (see crl_open_regular), ENOMEM, or EFBIG
 * when it holds more than max bytes (0, and crl_read_file: no bound). */
char *crl_read_file(const char *path, size_t *len, int *err);
char *crl_read_file_max(const char *path, size_t max, size_t *len, int *err);
char *crl_read_file_at(int dirfd, const char *path, unsigned flags, size_t max, size_t *len, int *err);

/* ---- write_all.c ---- */

/* Write all n bytes of buf to fd, retrying short writes and EINTR.  0, or
 * -1 with errno set (EIO for a write that made no progress).  The caller
 * owns fd and buf.  crl_send_all does the same on a socket with
 * MSG_NOSIGNAL, so a peer that went away is EPIPE, never SIGPIPE. */
int crl_write_all(int fd, const void *buf, size_t n);
int crl_send_all(int fd, const void *buf, size_t n);

/* ---- secret.c ---- */

/* Zero the string s (may be NULL) and free it. */
void crl_wipe_free(char *s);
/* "Authorization: Bearer TOKEN" as a malloc'ed string (NULL when out of
 * memory); it holds the token, so the caller frees it with crl_wipe_free. */
char *crl_bearer_header(const char *token);

/* ---- strv.c ---- */

/* A growable NULL-terminated vector of malloc'ed strings.  Zero-initialize;
 * the caller owns it (crl_strv_free, or crl_strv_take to keep the array). */
struct crl_strv {
    char **v;       /* NULL-terminated (v may be NULL while n == 0) */
    size_t n, cap;
};
/* Append a copy of s / of a printf-formatted string; 0 or CORRAL_ENOMEM
 * (the vector is unchanged then). */
int crl_strv_push(struct crl_strv *sv, const char *s);
int crl_strv_pushf(struct crl_strv *sv, const char *fmt, ...) CORRAL_PRINTF(2, 3);
/* Free every string and the vector; it is empty and reusable after. */
void crl_strv_free(struct crl_strv *sv);
/* The NULL-terminated array (never NULL: an empty vector yields a static {NULL}). */
const char *const *crl_strv_get(const struct crl_strv *sv);
/* Hand the array over to the caller (free with crl_strv_free_array) and
 * empty sv: never NULL but out of memory, an empty vector gives {NULL}. */
char **crl_strv_take(struct crl_strv *sv);

/* On plain NULL-terminated arrays of malloc'ed strings (v may be NULL). */
size_t crl_strv_len(const char *const *v);
/* A deep copy the caller frees with crl_strv_free_array; NULL when out of memory. */
char **crl_strv_dup(const char *const *v);
void crl_strv_free_array(char **v);
/* Same, zeroing every string first (environments and headers hold secrets). */
void crl_strv_wipe_array(char **v);

/* ---- process identity (proc_owner.c) ---- */
#include <sys/types.h>
/* Field 22 (start time, clock ticks since boot) of a /proc/<pid>/stat text,
 * 0 when malformed; *state (may be NULL) gets the state letter. */
uint64_t crl_parse_stat_start(const char *stat_text, char *state);
/* The start time of pid (read through proc_dirfd, an open /proc/<pid>,
 * when >= 0), or 0 when it does not exist or is a zombie. */
uint64_t crl_proc_start_at(int proc_dirfd, pid_t pid);
/* "<host>:<pid>:<start>" naming this process, for a corral.lease label or
 * an owner file: unlike a pid alone it cannot be taken over by a recycled
 * pid.  Returns 0, or -1 when it does not fit or /proc is unreadable. */
int crl_owner_token(char *buf, size_t cap);
/* Parses a token of THIS host into pid and start time: 0, or -1 (another
 * host, malformed). */
int crl_owner_parse(const char *token, pid_t *pid, uint64_t *start);
/* 1 when the token's process is gone, 0 when it still runs, -1 when that
 * cannot be judged here (another host, malformed). */
int crl_owner_gone(const char *token);

/* The lease of a sandbox spec: a pidfd of the process its corral.lease
 * label (this host's) names, -1 without such a label, -2 when that process
 * is already gone.  The pidfd is opened before the start time is checked,
 * so it pins the process checked.  The caller closes it. */
int crl_lease_pidfd(const char *const *labels);

/* ---- helper executables (libexec.c) ---- */
/* The path of corral's helper executable `name` into buf (the caller's, cap
 * bytes): $CORRAL_LIBEXEC_DIR, the running executable's directory, then the
 * installed libexec/corral.  0 when one is executable there, else -1. */
int crl_find_libexec(const char *name, char *buf, size_t cap);

/* ---- detached children (detach.c) ---- */
/* In a child before exec: default dispositions, then every signal unblocked. */
void crl_signals_default(void);
/* fork() into a process detached from the caller (new session, double
 * fork: reparented, never our zombie) with default signals.  Returns 0 in
 * that process; in the caller the pid of the intermediate child, which
 * exits at once (the caller waits for it), or -1.  Async-signal-safe. */
pid_t crl_fork_detached(void);
/* In a forked child: close every fd above stderr but the (at most 8) in
 * keep, so the forking process's pipes and sockets do not live on in a
 * long-lived child.  Async-signal-safe. */
void crl_close_fds_except(const int *keep, size_t n);

/* Run op(ud, call) again after 0.25, 0.5, 1, 2 and 4 s while it fails with
 * a transient status (corral_status_is_transient) and the call has time
 * and is not cancelled; returns op's last status.  For cleanups whose
 * failure would leave something running (common/retry.c). */
int crl_retry_transient(const struct corral_host *h, int (*op)(void *ud, corral_call *call), void *ud,
                        corral_call *call);
/* The same with the call's clock given directly (for core, which has no
 * host table): before_wait, when set, runs before each pause (to log, or
 * to clear the failure op recorded). */
struct crl_retry_clock {
    int (*cancelled)(const corral_call *call);
    int64_t (*remaining_ms)(const corral_call *call);
    void (*before_wait)(void *ud, corral_call *call, int64_t wait_ms);
};
int crl_retry_transient_with(const struct crl_retry_clock *clk, int (*op)(void *ud, corral_call *call), void *ud,
                             corral_call *call);

#endif
