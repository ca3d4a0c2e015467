/*
 * corral plugin ABI: the one entry point, the descriptor, the error model,
 * the declarative config schema and the host-services table.
 *
 * A plugin is one shared object named sandbox_<name>.so or agent_<name>.so
 * that exports exactly one symbol, corral_plugin_entry (use
 * CORRAL_PLUGIN_EXPORT).  It includes only headers from <corral/...> and
 * never links against libcorral or the corral executable: everything it
 * needs from the host reaches it through struct corral_host.
 *
 * Versioning rules (read these before changing anything in this directory):
 *  - An ABI version is (major << 16 | minor).  The host offers the majors it
 *    implements; the plugin answers with the ONE version it implements,
 *    written as a literal (CORRAL_ABI(1, 0)), never CORRAL_ABI_CURRENT, so a
 *    rebuild against newer headers never claims what the plugin does not do.
 *  - Within a major, structs only grow at the end.  Every table starts with
 *    struct_size; the side that reads a table checks struct_size (and NULL)
 *    before touching a slot: CORRAL_HAS(tbl, slot).  Field offsets of every
 *    released layout are frozen by static_assert in the host's sources.
 *  - A struct the caller allocates and the callee fills (results) carries the
 *    caller's struct_size; the callee writes no field beyond it.
 *  - Removing or changing a field means a new major, and the host keeps a
 *    loader for the old one for at least one release.
 *  - A slot or field appended in minor N is read by the host only from a
 *    plugin whose abi_version says N or later (and whose struct_size or
 *    option_size covers it): a plugin written for 1.0 and rebuilt against
 *    newer headers keeps the 1.0 behaviour.
 *
 * What ABI 1.1 added (a plugin opts in by answering CORRAL_ABI(1, 1)):
 *  - init2(), which receives the host table, so no plugin keeps the table
 *    in a file-scope variable;
 *  - host-allocated plugin state (state_size) and bound options: an option
 *    with CORRAL_OPT_BIND names a field of that state (offset) which the
 *    host fills with the option's value or default before init2() runs;
 *  - limits on options (CORRAL_OPT_MIN/MAX with min/max) that the host
 *    checks together with types and CORRAL_OPT_REQUIRED: a bad value is a
 *    configuration error naming the file and the key, and the plugin is
 *    refused (`corral config check` reports it) before any of its code runs.
 *
 * Ownership rules, everywhere in this ABI:
 *  - Pointers passed into a plugin function are borrowed for the duration of
 *    that call unless the function's comment says otherwise.
 *  - Memory a plugin returns to the host (char **out parameters) is
 *    allocated with malloc() and freed by the host with free().
 *  - Descriptors, schemas and ops tables are static data in the plugin and
 *    must stay valid until fini(); the host never dlclose()s a plugin while
 *    any handle it created is alive.
 */
#ifndef CORRAL_PLUGIN_H
#define CORRAL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ABI versions ------------------------------------------------------ */

#define CORRAL_ABI(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define CORRAL_ABI_MAJOR(v) ((uint32_t)(v) >> 16)
#define CORRAL_ABI_MINOR(v) ((uint32_t)(v) & 0xffffu)
/* The newest version these headers describe.  For hosts only: a plugin
 * returns the literal version it implements (see the rules above). */
#define CORRAL_ABI_CURRENT CORRAL_ABI(1, 1)

/* True when table `t` (a pointer to a struct starting with size_t
 * struct_size) is large enough to contain `slot` and the slot is set. */
#define CORRAL_HAS(t, slot)                                                    \
    ((t) != NULL &&                                                            \
     (t)->struct_size >= offsetof(__typeof__(*(t)), slot) + sizeof((t)->slot) && \
     (t)->slot)
/* True when `t` is large enough to contain `field` (for plain data). */
#define CORRAL_HAS_FIELD(t, field)                                             \
    ((t) != NULL &&                                                            \
     (t)->struct_size >= offsetof(__typeof__(*(t)), field) + sizeof((t)->field))

#if defined(__GNUC__)
#define CORRAL_PLUGIN_EXPORT __attribute__((visibility("default")))
#define CORRAL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CORRAL_PLUGIN_EXPORT
#define CORRAL_PRINTF(fmt, args)
#endif

/* ---- Errors ------------------------------------------------------------ */

/* Every fallible function returns 0 (CORRAL_OK) or one of these negative
 * codes, and puts a human message into the corral_call it was given (see
 * corral_host.fail).  Transient codes mean "the same call may succeed if
 * retried"; every other code is permanent. */
enum corral_status {
    CORRAL_OK = 0,
    CORRAL_EINVAL = -1,      /* bad argument or input (permanent) */
    CORRAL_ENOMEM = -2,      /* out of memory */
    CORRAL_ENOTFOUND = -3,   /* no such sandbox, file, job, image, ... */
    CORRAL_ENOTSUP = -4,     /* operation not offered by this plugin/backend */
    CORRAL_EEXIST = -5,      /* already exists */
    CORRAL_EAUTH = -6,       /* credentials missing or refused */
    CORRAL_ETRANSIENT = -7,  /* temporary failure: 5xx, reset, 429, busy */
    CORRAL_ETIMEDOUT = -8,   /* the call's deadline passed (transient) */
    CORRAL_ECANCELED = -9,   /* the host cancelled the call */
    CORRAL_EIO = -10,        /* permanent I/O failure */
    CORRAL_EPROTO = -11,     /* the peer answered something unparseable */
    CORRAL_ESTATE = -12,     /* wrong state for this operation */
    CORRAL_ECONFIG = -13,    /* configuration invalid or incomplete */
    CORRAL_EPERM = -14,      /* refused by policy (allowlist, path escape) */
    CORRAL_EINTERNAL = -15   /* a bug: an invariant did not hold */
};

/* Whether retrying a call that failed with `code` can help. */
static inline int corral_status_is_transient(int code)
{
    return code == CORRAL_ETRANSIENT || code == CORRAL_ETIMEDOUT;
}

/* The usual meaning of an HTTP error status for a backend's REST API.
 * Backends check their service-specific cases first and fall back to this. */
static inline int corral_status_from_http(long status)
{
    if (status == 401)
        return CORRAL_EAUTH;
    if (status == 402 || status == 403)
        return CORRAL_EPERM;
    if (status == 404)
        return CORRAL_ENOTFOUND;
    if (status == 408 || status == 429 || status >= 500)
        return CORRAL_ETRANSIENT;
    if (status == 409)
        return CORRAL_ESTATE;
    if (status == 400 || status == 422)
        return CORRAL_EINVAL;
    return CORRAL_EPROTO;
}

/* ---- Per-call context ---------------------------------------------------- */

/* Opaque, host-owned context passed to every plugin operation.  It carries
 * the call's deadline and cancellation flag and a slot for the error message;
 * the plugin queries it through corral_host and never frees it. */
typedef struct corral_call corral_call;

/* Opaque, host-owned view of this plugin's validated configuration section
 * (defaults applied).  Valid until the plugin's fini() returns. */
typedef struct corral_config corral_config;

/* ---- Declarative configuration schema ------------------------------------ */

enum corral_opt_type {
    CORRAL_OPT_STRING = 1,
    CORRAL_OPT_INT = 2,      /* int64 */
    CORRAL_OPT_BOOL = 3,
    CORRAL_OPT_DOUBLE = 4,
    CORRAL_OPT_STRINGS = 5   /* array of strings */
};

enum corral_opt_flags {
    /* The value is the NAME of an environment variable that holds a secret
     * (e.g. "api_key_env": "E2B_API_KEY").  The host requires an env-var
     * shaped name, never prints the variable's value, and plugins read the
     * secret with corral_host.secret(). */
    CORRAL_OPT_SECRET_ENV = 1u << 0,
    /* The option must be set in some config file (give it no default).  A
     * plugin whose required option is missing is refused at load with a
     * configuration error, like a value of the wrong type. */
    CORRAL_OPT_REQUIRED = 1u << 1,
    /* ABI 1.1: the host stores the value into the plugin's state at
     * `offset` (see struct corral_option). */
    CORRAL_OPT_BIND = 1u << 2,
    /* ABI 1.1: the value must be >= `min` (INT, DOUBLE), or have at least
     * `min` bytes (STRING) or elements (STRINGS). */
    CORRAL_OPT_MIN = 1u << 3,
    /* ABI 1.1: the same with <= `max`. */
    CORRAL_OPT_MAX = 1u << 4
};

/* One option of a plugin's config section.  Plugins declare a static array
 * terminated by an entry whose name is NULL; the descriptor gives the
 * element size so the array may grow in later minors.
 *
 * A bound option (ABI 1.1, CORRAL_OPT_BIND) is written by the host into
 * the plugin's state (struct corral_plugin.state_size) at `offset`, before
 * init2() runs, as this C type:
 *   CORRAL_OPT_STRING   const char *          (NULL when unset, no default)
 *   CORRAL_OPT_INT      int64_t
 *   CORRAL_OPT_BOOL     int                   (0 or 1)
 *   CORRAL_OPT_DOUBLE   double
 *   CORRAL_OPT_STRINGS  const char *const *   (NULL-terminated; NULL when unset)
 * Strings are borrowed from the host until fini() returns: never free or
 * modify them, and there is no need to copy them. */
struct corral_option {
    const char *name;          /* key in the plugin's config section */
    int type;                  /* enum corral_opt_type */
    uint32_t flags;            /* enum corral_opt_flags */
    const char *default_json;  /* default as JSON text ("30", "\"x\"", "[]"), or NULL */
    const char *description;   /* one line, shown by `corral plugins --json` and man pages */
    /* ---- ABI 1.1 ---- */
    size_t offset;             /* with CORRAL_OPT_BIND: offsetof(<state struct>, field) */
    double min;                /* with CORRAL_OPT_MIN (see the flag) */
    double max;                /* with CORRAL_OPT_MAX */
};

/* ---- Logging ------------------------------------------------------------- */

enum corral_log_level {
    CORRAL_LOG_ERROR = 0,
    CORRAL_LOG_WARN = 1,
    CORRAL_LOG_INFO = 2,
    CORRAL_LOG_DEBUG = 3
};

/* ---- HTTP helper (libcurl in the host) ----------------------------------- */

/* A byte sink: the host or plugin calls write() with each chunk in order.
 * Returns 0 to continue or a negative corral_status to abort. */
struct corral_sink {
    size_t struct_size;
    int (*write)(void *ud, const void *buf, size_t len);
    void *ud;
};

/* A byte source: read() fills up to cap bytes and returns the count, 0 at
 * end of stream, or a negative corral_status. */
struct corral_source {
    size_t struct_size;
    long (*read)(void *ud, void *buf, size_t cap);
    void *ud;
    int64_t length;            /* total length if known, else -1 */
    /* Start the stream again from its first byte: 0, or a negative
     * corral_status when it cannot.  NULL for one-shot streams.  With it
     * the host may send the body again (retries of safe requests);
     * without it a streamed body is sent at most once.  (Appended in
     * ABI 1.1.) */
    int (*rewind)(void *ud);
};

/* A request for corral_host.http().  The caller owns it and everything it
 * points to; the host reads it only during the call. */
struct corral_http_request {
    size_t struct_size;
    const char *method;              /* "GET", "POST", ... */
    const char *url;                 /* for unix sockets: http://localhost/path */
    const char *unix_socket;         /* path, or NULL for TCP */
    const char *const *headers;      /* "Name: value" strings, NULL-terminated, or NULL */
    const void *body;                /* request body, or NULL (see body_source) */
    size_t body_len;
    const struct corral_source *body_source; /* streamed body instead of body (retried only if it can rewind) */
    int64_t timeout_ms;              /* whole-transfer limit; 0 = the call's deadline only */
    int max_attempts;                /* >= 1; retries only transient failures that are safe (see idempotent) */
    int64_t backoff_ms;              /* first backoff, doubled per retry (jittered) */
    const struct corral_sink *body_sink; /* stream the response body here instead of buffering */
    size_t max_body;                 /* buffered-body cap (0 = 64 MiB); over it -> CORRAL_EPROTO */
    /* Header names (case-insensitive) whose values are replaced with
     * "<redacted>" in any log line.  Authorization, X-API-Key,
     * X-Access-Token and X-Sandbox-Token are always redacted. */
    const char *const *redact_headers;
    /* Non-zero for requests that must not be sent twice (e.g. a POST that
     * creates something): the host opens a fresh connection and never
     * reuses it, so libcurl cannot silently resend the request when a
     * kept-alive connection dies before the answer.  Callers that need
     * retries for such requests make them themselves, after checking
     * whether the first one took effect.  (Appended in ABI 1.0.)  Same
     * as idempotent = CORRAL_HTTP_NOT_IDEMPOTENT. */
    int fresh_connection;
    /* Whether sending the request twice does the same as sending it once.
     * CORRAL_HTTP_BY_METHOD (0): GET, HEAD, PUT, DELETE, OPTIONS are,
     * POST, PATCH and any other method are not.  The host decides every
     * resend from it: a non-idempotent request goes on a fresh connection
     * that is never reused (so libcurl cannot resend it silently), and is
     * retried only when the failure proves it was not processed: the
     * connection could not be made, or the server answered 429 or 503
     * (refused before processing).  Any other failure after it may have
     * been sent is CORRAL_ETRANSIENT, for the caller to decide after
     * checking whether it took effect.  (Appended in ABI 1.1.) */
    int idempotent;
};

#define CORRAL_HTTP_BY_METHOD 0
#define CORRAL_HTTP_IDEMPOTENT 1
#define CORRAL_HTTP_NOT_IDEMPOTENT (-1)

/* The response to corral_host.http().  The host fills it; the caller frees
 * it with corral_host.http_response_free(). */
struct corral_http_response {
    size_t struct_size;
    long status;               /* HTTP status, 0 if no response was received */
    char *body;                /* NUL-terminated buffered body (NULL when body_sink was used) */
    size_t body_len;
    char *headers;             /* raw response header block, NUL-terminated */
    int attempts;              /* how many attempts were made */
};

/* ---- Host services --------------------------------------------------------- */

/* The host's services table, handed to corral_plugin_entry() and valid for
 * the life of the plugin.  Read slots through CORRAL_HAS(). */
struct corral_host {
    size_t struct_size;
    /* The ABI version the host speaks to this plugin: 0 while
     * corral_plugin_entry() runs (nothing is negotiated yet), then the
     * plugin's own version, or the host's newest minor of that major when
     * the plugin names a newer one. */
    uint32_t abi_version;

    /* Logging through the host's logger, tagged with the plugin's name. */
    void (*log)(const struct corral_host *host, int level, const char *fmt, ...) CORRAL_PRINTF(3, 4);
    void (*vlog)(const struct corral_host *host, int level, const char *fmt, va_list ap);

    /* Record `code` and a formatted message as the failure of `call`, and
     * return `code` so plugins can write `return host->fail(call, ...)`.
     * The message is host-owned.  A later fail() on the same call replaces
     * it.  fmt must not contain secrets. */
    int (*fail)(corral_call *call, int code, const char *fmt, ...) CORRAL_PRINTF(3, 4);

    /* Milliseconds left until the call's deadline (INT64_MAX if none; 0 or
     * less when passed).  Plugins bound every blocking wait by it. */
    int64_t (*remaining_ms)(const corral_call *call);
    /* Non-zero once the host has cancelled the call (signal, shutdown). */
    int (*cancelled)(const corral_call *call);
    /* Monotonic clock, in milliseconds. */
    int64_t (*now_ms)(void);

    /* Config accessors for this plugin's section.  Strings are borrowed from
     * the host until fini().  An unset optional option yields NULL / the
     * schema default; asking for a key not in the schema or with the wrong
     * type is a plugin bug and returns NULL / 0. */
    const char *(*config_string)(const corral_config *cfg, const char *key);
    int64_t (*config_int)(const corral_config *cfg, const char *key);
    int (*config_bool)(const corral_config *cfg, const char *key);
    double (*config_double)(const corral_config *cfg, const char *key);
    /* NULL-terminated array borrowed until fini(), or NULL. */
    const char *const *(*config_strings)(const corral_config *cfg, const char *key);

    /* Look up the secret held by the environment variable named env_name.
     * On success *out is a malloc'ed copy the caller must wipe and free.
     * Returns CORRAL_EAUTH (with a message naming the variable, never its
     * value) when it is unset or empty. */
    int (*secret)(const char *env_name, char **out, corral_call *call);

    /* Perform an HTTP request over libcurl with the retry/backoff policy in
     * req, bounded by the call's deadline and cancellation.  Returns 0 when
     * a response arrived (any status; check resp->status), or a negative
     * status for transport failures (CORRAL_ETRANSIENT for resets/connect
     * failures, CORRAL_ETIMEDOUT, CORRAL_ECANCELED).  resp is filled on
     * every return and must be released with http_response_free().
     * call may be NULL (no deadline, not cancellable, no message) for
     * cleanup after a call was cancelled or timed out, e.g. killing what
     * it left running; bound such requests with req->timeout_ms.  fail(),
     * remaining_ms() and cancelled() accept NULL the same way. */
    int (*http)(const struct corral_http_request *req, struct corral_http_response *resp,
                corral_call *call);
    void (*http_response_free)(struct corral_http_response *resp);

    /* ---- Archive helpers (appended; check with CORRAL_HAS) ---- */

    /* Extract the tar stream read from src (any compression the host
     * reads) below the directory open as dirfd, which may be in another
     * mount namespace (e.g. /proc/<pid>/root): entries with absolute
     * paths, ".." components, devices, fifos or sockets are refused, and no
     * symlink is followed on the way to an entry, so nothing is written
     * outside the tree.  Symlinks are created as given unless flags has
     * CORRAL_ARCHIVE_STRICT_LINKS (then a link leaving the tree is refused).
     * The working directory is never changed.  dirfd and src are borrowed. */
    int (*archive_extract_at)(int dirfd, const struct corral_source *src, unsigned flags, corral_call *call);
    /* Write the tree below dirfd (borrowed) to sink as a pax tar stream:
     * paths relative to it, in name order, symlinks as links, owners 0;
     * sockets are left out, devices and fifos refused.  flags: none yet, 0. */
    int (*archive_tree_at)(int dirfd, const struct corral_sink *sink, unsigned flags, corral_call *call);
};

/* Flags of corral_host.archive_extract_at(). */
#define CORRAL_ARCHIVE_STRICT_LINKS 1u

/* ---- The descriptor ------------------------------------------------------ */

enum corral_plugin_kind {
    CORRAL_PLUGIN_SANDBOX = 1,
    CORRAL_PLUGIN_AGENT = 2
};

/* What corral_plugin_entry() returns: static data in the plugin. */
struct corral_plugin {
    size_t struct_size;
    uint32_t abi_version;          /* a LITERAL, e.g. CORRAL_ABI(1, 0) */
    int kind;                      /* enum corral_plugin_kind; must match the file name */
    const char *name;              /* [a-z0-9_]+, must match the file name */
    const char *version;           /* the plugin's own version, e.g. "0.3.1" */
    const char *description;       /* one line */
    const struct corral_option *options; /* config schema, NULL-name terminated, or NULL */
    size_t option_size;            /* sizeof(struct corral_option) the plugin was built with */
    /* The kind's ops table: struct corral_sandbox_ops (sandbox.h) or
     * struct corral_agent_ops (agent.h).  Starts with its own struct_size. */
    const void *ops;
    /* Optional (ABI 1.0 style; a 1.1 plugin uses init2).  Called once after
     * the config section was validated, before any op.  *state
     * (plugin-owned) is passed back as the first argument of every op and
     * to fini().  A failure refuses the plugin with the message put into
     * `call`. */
    int (*init)(const corral_config *cfg, void **state, corral_call *call);
    /* Optional.  Releases what init() or init2() made.  Called once, after
     * every handle the plugin created was closed. */
    void (*fini)(void *state);

    /* ---- ABI 1.1 (read only when abi_version says 1.1 or later) ---- */

    /* Optional; used instead of init.  Called once, before any op, after
     * the host validated the config section and filled every bound option
     * into `state`.  `host` is this plugin's services table, the same as
     * the offer's, valid until fini() returns.  `state` is the block of
     * state_size bytes (NULL when state_size is 0); it is the first
     * argument of every op.  On failure (message in `call`) the plugin is
     * refused, and the host still calls fini(state) when set: fini must
     * accept a state that init2 filled only in part (the block starts
     * zeroed, bound options filled). */
    int (*init2)(const struct corral_host *host, const corral_config *cfg, void *state, corral_call *call);
    /* Size of the plugin's state struct.  When non-zero the host allocates
     * it zeroed, fills the bound options, passes it to init2(), every op
     * and fini(), and frees it itself after fini().  A descriptor with
     * state_size must not set init (only init2). */
    size_t state_size;
};

/* The host's offer to the plugin. */
struct corral_host_offer {
    size_t struct_size;
    const uint32_t *abi_majors;    /* ABI majors the host implements, newest first */
    size_t n_abi_majors;
    const struct corral_host *host;/* services; valid for the life of the plugin */
};

/* The only symbol a plugin exports.  Called once after dlopen().  It
 * returns the plugin's descriptor (whose abi_version must have a major the
 * host offered), or NULL to decline loading (it may log why through
 * offer->host->log).  It must not start threads or touch the network; real
 * initialisation happens in the descriptor's init2() (or init()). */
typedef const struct corral_plugin *(*corral_plugin_entry_fn)(const struct corral_host_offer *offer);
#define CORRAL_PLUGIN_ENTRY_SYMBOL "corral_plugin_entry"

/* The check every corral_plugin_entry() starts with: the offer's host
 * services when the host offers ABI major `major`, else NULL (decline).
 * The caller then checks the services it needs with CORRAL_HAS(). */
static inline const struct corral_host *corral_offer_host(const struct corral_host_offer *offer, uint32_t major)
{
    if (!offer || !offer->host)
        return NULL;
    for (size_t i = 0; i < offer->n_abi_majors; i++)
        if (offer->abi_majors[i] == major)
            return offer->host;
    return NULL;
}

/* Append s to the NUL-terminated string in buf (cap bytes in all),
 * percent-encoded for a URL path segment or query value: every byte but
 * RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) and those in `keep`
 * ("/" for a whole path; NULL: none) becomes %XX.  Returns 0, or -1 with
 * buf as it was when the result does not fit. */
static inline int corral_url_escape(char *buf, size_t cap, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = 0, n;
    while (start < cap && buf[start])
        start++;
    if (start >= cap)
        return -1;
    n = start;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        int plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    *c == '-' || *c == '.' || *c == '_' || *c == '~';
        for (const char *k = keep; k && *k && !plain; k++)
            plain = *c == (unsigned char)*k;
        if (n + (plain ? 1 : 3) >= cap) {
            buf[start] = '\0';
            return -1;
        }
        if (plain) {
            buf[n++] = (char)*c;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*c >> 4];
            buf[n++] = hex[*c & 15];
        }
    }
    buf[n] = '\0';
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_PLUGIN_H */
