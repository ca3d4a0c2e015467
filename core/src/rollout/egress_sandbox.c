/* An egress policy on a sandbox made by hand (`corral sandbox create
 * --egress FILE`).  No corral process outlives `create`, so on backends
 * with host mounts the policy is kept next to the sandbox's registry
 * entry and enforced by each `corral sandbox exec`, which runs the proxy
 * and an in-sandbox relay for the command's duration; a backend that
 * enforces host rules itself gets the policy at create.  See
 * docs/egress.md ("Sandboxes made by hand"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rollout/rollout_internal.h"
#include "sandbox/sandbox_internal.h"

#define EGRESS_DIR_IN_SANDBOX "/run/corral-egress"
#define EGRESS_POLICY_MAX (4u << 20)

struct corral_egress_session {
    corral_sandbox *sb;
    struct crl_egress policy;
    crl_egress_proxy *proxy;
    corral_sandbox_job *relay;
    struct crl_strv env;
    char socket[PATH_MAX];
};

/* Remove an egress directory and what corral put in it. */
static void remove_dir(const char *dir)
{
    crl_rm_rf(dir);
}

int corral_sandbox_create_egress(corral_ctx *ctx, const struct corral_sandbox_create_opts *opts,
                                 const struct corral_sandbox_spec *spec, const char *egress_file, corral_sandbox **out,
                                 struct corral_call *call)
{
    *out = NULL;
    struct crl_egress pol;
    int st = crl_egress_load_file(egress_file, CRL_EGRESS_OPERATOR, &pol, call);
    if (st)
        return st;
    const struct corral_plugin_record *rec = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, opts->backend);
    if (!rec) {
        crl_egress_free(&pol);
        return corral_call_fail(call, CORRAL_ENOTFOUND, "sandbox backend '%s' is not loaded", opts->backend);
    }
    const struct corral_sandbox_ops *ops = rec->desc->ops;
    if (!(ops->caps & CORRAL_CAP_HOST_MOUNTS)) {
        if (!(ops->caps & CORRAL_CAP_EGRESS_RULES)) {
            crl_egress_free(&pol);
            return corral_call_fail(call, CORRAL_ENOTSUP,
                                    "backend '%s' can neither enforce an egress policy nor mount corral's proxy "
                                    "(docs/egress.md)",
                                    opts->backend);
        }
        /* the backend enforces the agent phase's policy itself (a sandbox
         * made by hand has no phases), in the native form a rollout gives it */
        char *native = crl_egress_native_json(crl_egress_for(&pol, CRL_EGRESS_AGENT), NULL);
        crl_egress_free(&pol);
        if (!native)
            return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        struct corral_sandbox_spec s = *spec;
        s.network = CORRAL_NET_POLICY;
        s.egress_json = native;
        st = corral_sandbox_create(ctx, opts, &s, out, call);
        free(native);
        return st;
    }
    crl_egress_free(&pol);
    size_t len = 0;
    int err = 0;
    char *text = crl_read_file_max(egress_file, EGRESS_POLICY_MAX, &len, &err);
    if (!text)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: %s", egress_file, crl_file_strerror(err));
    struct corral_sandbox_spec s = *spec;
    /* Local and docker: a directory bound into the sandbox where each exec's
     * proxy puts its socket, and the policy beside it. */
    char reg[PATH_MAX - 128], dir[PATH_MAX], forwarder[PATH_MAX], file[PATH_MAX + 16];
    if ((st = corral_registry_dir(reg, sizeof reg, call))) {
        free(text);
        return st;
    }
    if (crl_find_forwarder(forwarder, sizeof forwarder) != 0) {
        free(text);
        return corral_call_fail(call, CORRAL_ENOTFOUND,
                                "corral-forward not found (set CORRAL_LIBEXEC_DIR or reinstall corral)");
    }
    snprintf(dir, sizeof dir, "%s/egress-XXXXXX", reg);
    if (!mkdtemp(dir)) {
        free(text);
        return corral_call_fail(call, CORRAL_EIO, "egress directory in %s: %s", reg, strerror(errno));
    }
    /* dir/sock, bound in, holds the sockets only; the sandbox's user reaches
     * a socket there but cannot list them */
    char sockdir[PATH_MAX + 8];
    chmod(dir, 0711);
    snprintf(sockdir, sizeof sockdir, "%s/sock", dir);
    if (mkdir(sockdir, 0711) != 0 || chmod(sockdir, 0711) != 0) {
        free(text);
        int e = errno;
        remove_dir(dir);
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", sockdir, strerror(e));
    }
    snprintf(file, sizeof file, "%s/policy.json", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int wr = fd >= 0 ? crl_write_all(fd, text, len) : -1;
    if (fd >= 0 && close(fd) != 0)
        wr = -1;
    free(text);
    if (wr != 0) {
        remove_dir(dir);
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", file, strerror(errno));
    }
    size_t n = spec->n_mounts;
    struct corral_mount *mounts = calloc(n + 2, sizeof *mounts);
    if (!mounts) {
        remove_dir(dir);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    if (n)
        memcpy(mounts, spec->mounts, n * sizeof *mounts);
    mounts[n++] = (struct corral_mount){forwarder, CRL_FORWARD_IN_SANDBOX, 1};
    mounts[n++] = (struct corral_mount){sockdir, EGRESS_DIR_IN_SANDBOX, 1};
    s.mounts = mounts;
    s.n_mounts = n;
    s.network = CORRAL_NET_NONE; /* the proxy is its only way out */
    st = corral_sandbox_create(ctx, opts, &s, out, call);
    free(mounts);
    if (st) {
        remove_dir(dir);
        return st;
    }
    if ((st = crl_registry_egress_link(corral_sandbox_id(*out), dir, call))) {
        /* no sandbox without its policy */
        struct corral_call c;
        corral_call_init(&c, 120000);
        corral_sandbox_destroy(*out, &c);
        corral_sandbox_close(*out);
        *out = NULL;
        remove_dir(dir);
    }
    return st;
}

/* A refused request as one line on corral's stderr (from a proxy thread). */
static void deny_line(void *ud, const struct crl_egress_entry *e)
{
    (void)ud;
    fprintf(stderr, "corral: egress %s %s:%u%s%s refused (%s, rule %s)\n", e->method, e->host, (unsigned)e->port,
            e->path ? " " : "", e->path ? e->path : "", e->decision, e->rule);
}

int corral_egress_session_open(corral_sandbox *sb, corral_egress_session **out, struct corral_call *call)
{
    *out = NULL;
    char dir[PATH_MAX - 96];
    int found = crl_registry_egress_dir(corral_sandbox_id(sb), dir, sizeof dir, call);
    if (found < 0)
        return corral_call_fail(call, CORRAL_EIO, "the egress link of %s in the registry is unreadable",
                                corral_sandbox_id(sb));
    if (!found)
        return 0;
    corral_egress_session *s = calloc(1, sizeof *s);
    if (!s)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    s->sb = sb;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/policy.json", dir);
    int st = crl_egress_load_file(file, CRL_EGRESS_OPERATOR, &s->policy, call);
    /* a socket per exec: execs may run side by side */
    long pid = (long)getpid();
    snprintf(s->socket, sizeof s->socket, "%s/sock/egress-%ld.sock", dir, pid);
    if (!st) {
        struct crl_egress_proxy_options po = {.socket_path = s->socket, .policy = &s->policy,
                                              .host_map = getenv("CORRAL_EGRESS_HOSTS"), .on_deny = deny_line};
        s->proxy = crl_egress_proxy_start(&po, call);
        st = s->proxy ? 0 : CORRAL_EIO;
    }
    if (!st) {
        crl_egress_proxy_set_phase(s->proxy, CRL_EGRESS_AGENT);
        char sock[128], port_file[128], log[128];
        snprintf(sock, sizeof sock, EGRESS_DIR_IN_SANDBOX "/egress-%ld.sock", pid);
        /* named by pid and start time: a port file another exec of a reused
         * pid left in the sandbox's /tmp must not be read as this relay's */
        long long t = (long long)corral_now_ms();
        snprintf(port_file, sizeof port_file, "/tmp/corral-egress-%ld-%lld.port", pid, t);
        snprintf(log, sizeof log, "/tmp/corral-egress-%ld-%lld.log", pid, t);
        int port = 0;
        st = crl_relay_start(sb, sock, port_file, log, NULL, NULL, &s->relay, &port, call);
        if (!st)
            crl_egress_proxy_env(&s->env, port);
    }
    if (st) {
        corral_egress_session_close(s);
        return st;
    }
    *out = s;
    return 0;
}

const char *const *corral_egress_session_env(const corral_egress_session *s)
{
    return s ? (const char *const *)s->env.v : NULL;
}

void corral_egress_session_close(corral_egress_session *s)
{
    if (!s)
        return;
    crl_rollout_relay_stop(s->sb, s->relay);
    crl_egress_proxy_stop(s->proxy); /* removes the socket */
    crl_egress_free(&s->policy);
    crl_strv_free(&s->env);
    free(s);
}
