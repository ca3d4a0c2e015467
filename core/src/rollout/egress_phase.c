/* A rollout's egress policy on backends with host mounts (local, docker):
 * the policy chosen once (the options' file over the task's), corral's
 * proxy on a unix socket in a private directory bound into the sandbox,
 * and per phase an in-sandbox relay to it announced by the proxy
 * variables; its decisions end in the RolloutResult's "egress".  See
 * docs/egress.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rollout/rollout_internal.h"

#define EGRESS_SOCKET_IN_SANDBOX "/run/corral-egress/egress.sock"

/* A refused request as a progress line naming the rule (from a proxy thread). */
static void on_deny(void *ud, const struct crl_egress_entry *e)
{
    struct rollout *r = ud;
    if (!r->o->progress)
        return;
    char msg[512];
    snprintf(msg, sizeof msg, "egress %s %s:%u%s%s refused (%s, rule %s)", e->method, e->host, (unsigned)e->port,
             e->path ? " " : "", e->path ? e->path : "", e->decision, e->rule);
    r->o->progress(r->o->progress_ud, "egress", msg);
}

int corral_egress_check_file(const char *path, struct corral_call *call)
{
    struct crl_egress e;
    int st = crl_egress_load_file(path, CRL_EGRESS_OPERATOR, &e, call);
    crl_egress_free(&e);
    return st;
}

/* The host of a gate URL ("http://host:port/..." or "[v6]") into buf;
 * "" when there is none. */
static void gate_host(const char *url, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!url)
        return;
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    const char *end = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t)(end - h));
    if (at)
        h = at + 1;
    size_t len;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close)
            return;
        h++;
        len = (size_t)(close - h);
    } else {
        len = strcspn(h, ":/?#");
    }
    if (len < cap)
        snprintf(buf, cap, "%.*s", (int)len, h);
}

int crl_egress_prepare(struct rollout *r)
{
    int st = 0;
    if (r->o->egress_file)
        st = crl_egress_load_file(r->o->egress_file, CRL_EGRESS_OPERATOR, &r->egress, r->call);
    else if (r->task->egress_json) {
        cJSON *j = cJSON_Parse(r->task->egress_json);
        st = j ? crl_egress_from_json(j, "task egress", CRL_EGRESS_TASK, &r->egress, r->call)
               : corral_call_fail(r->call, CORRAL_ENOMEM, "out of memory");
        cJSON_Delete(j);
    }
    if (st)
        return crl_rollout_fail(r, r->o->egress_file ? CORRAL_ROLLOUT_ERR_INFRA : CORRAL_ROLLOUT_ERR_TASK, st, "%s",
                                r->call->message);
    if (!r->egress.present)
        return 0;
    const struct corral_plugin_record *rec = corral_plugin_find(r->ctx, CORRAL_PLUGIN_SANDBOX, r->plan.backend);
    const struct corral_sandbox_ops *ops = rec ? rec->desc->ops : NULL;
    if (ops && !(ops->caps & CORRAL_CAP_HOST_MOUNTS)) {
        /* No way to bind the proxy in: the backend enforces the policy
         * itself, or refuses it at create with its reason. */
        char gate[256];
        gate_host(r->o->gate_url, gate, sizeof gate);
        for (int p = 0; p < CRL_EGRESS_NPHASES; p++)
            if (!(r->egress_native[p] =
                      crl_egress_native_json(crl_egress_for(&r->egress, (enum crl_egress_phase)p), gate)))
                return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, CORRAL_ENOMEM, "out of memory");
        r->plan.network = CORRAL_NET_POLICY;
        return 0;
    }
    r->plan.network = CORRAL_NET_NONE; /* the proxy is the sandbox's only way out */
    snprintf(r->egress_dir, sizeof r->egress_dir, "%s/corral-gate-egress-XXXXXX", crl_gate_tmp_root());
    if (!mkdtemp(r->egress_dir)) {
        r->egress_dir[0] = '\0';
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, CORRAL_EIO, "egress proxy directory: %s",
                                strerror(errno));
    }
    chmod(r->egress_dir, 0711);
    crl_gate_dir_claim(r->egress_dir); /* named corral-gate-*: `corral gc` removes it once this process is gone */
    snprintf(r->egress_socket, sizeof r->egress_socket, "%s/egress.sock", r->egress_dir);
    struct crl_egress_proxy_options po = {.socket_path = r->egress_socket, .policy = &r->egress,
                                          .host_map = getenv("CORRAL_EGRESS_HOSTS"), .on_deny = on_deny, .ud = r};
    r->proxy = crl_egress_proxy_start(&po, r->call);
    if (!r->proxy)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, CORRAL_EIO, "%s", r->call->message);
    return 0;
}

int crl_egress_mounts(struct rollout *r, struct corral_mount *mounts, size_t *n, char *forwarder, size_t cap,
                      int have_forwarder)
{
    if (!r->proxy)
        return 0;
    if (!have_forwarder) {
        if (crl_find_forwarder(forwarder, cap) != 0)
            return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, CORRAL_ENOTFOUND,
                                    "corral-forward not found (set CORRAL_LIBEXEC_DIR or reinstall corral)");
        mounts[(*n)++] = (struct corral_mount){forwarder, CRL_FORWARD_IN_SANDBOX, 1};
    }
    mounts[(*n)++] = (struct corral_mount){r->egress_socket, EGRESS_SOCKET_IN_SANDBOX, 1};
    return 0;
}

void crl_egress_proxy_env(struct crl_strv *env, int port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    /* curl reads the lower-case http_proxy only; npm, pip and git read these too */
    static const char *const names[] = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                                        "all_proxy", "npm_config_proxy", "npm_config_https_proxy", "PIP_PROXY"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        crl_strv_pushf(env, "%s=%s", names[i], url);
    /* the gate's relay is on loopback too: never through the proxy */
    crl_strv_pushf(env, "NO_PROXY=127.0.0.1,localhost,::1");
    crl_strv_pushf(env, "no_proxy=127.0.0.1,localhost,::1");
}

const char *crl_egress_native_first(struct rollout *r)
{
    if (!r->egress_native[0])
        return NULL;
    /* a verifier's own sandbox runs the setup again, then verification */
    enum crl_egress_phase p = r->task->setup ? CRL_EGRESS_SETUP : r->sb ? CRL_EGRESS_VERIFY : CRL_EGRESS_AGENT;
    return r->egress_native[p];
}

void crl_egress_native_created(struct rollout *r, corral_sandbox *sb, const char *json)
{
    if (json) {
        r->egress_applied_sb = sb;
        r->egress_applied = json;
    }
}

/* Native enforcement: switch the live sandbox to phase's policy through
 * the backend when it differs from the one it obeys. */
static int native_enter(struct rollout *r, enum crl_egress_phase phase)
{
    const char *want = r->egress_native[phase];
    if (r->egress_applied_sb == r->sb && r->egress_applied && strcmp(r->egress_applied, want) == 0)
        return 0;
    int st = corral_sandbox_set_egress(r->sb, want, r->call);
    if (st)
        return crl_rollout_fail(r, CORRAL_ROLLOUT_ERR_INFRA, st, "egress policy of phase %s: %s",
                                crl_egress_phase_name(phase), r->call->message);
    crl_rollout_progress(r, "egress policy of phase %s applied", crl_egress_phase_name(phase));
    r->egress_applied_sb = r->sb;
    r->egress_applied = want;
    return 0;
}

int crl_egress_enter(struct rollout *r, enum crl_egress_phase phase, struct crl_strv *env)
{
    if (r->egress_native[0] && r->sb)
        return native_enter(r, phase);
    if (!r->proxy)
        return 0;
    crl_egress_leave(r);
    int port = 0;
    r->egress_relay_sb = r->sb;
    /* a port file per phase: a verification in the agent's sandbox must not
     * read the agent's relay's stale one */
    char tag[32];
    snprintf(tag, sizeof tag, "egress-%s", crl_egress_phase_name(phase));
    int st = crl_rollout_relay(r, EGRESS_SOCKET_IN_SANDBOX, tag, &r->egress_relay, &port);
    if (st)
        return st;
    crl_egress_proxy_set_phase(r->proxy, (int)phase);
    crl_egress_proxy_env(env, port);
    return 0;
}

void crl_egress_leave(struct rollout *r)
{
    if (!r->proxy)
        return;
    crl_egress_proxy_set_phase(r->proxy, -1);
    crl_rollout_relay_stop(r->egress_relay_sb, r->egress_relay);
    r->egress_relay = NULL;
}

void crl_egress_finish(struct rollout *r)
{
    if (r->proxy) {
        crl_egress_leave(r);
        cJSON_Delete(r->rec.egress);
        r->rec.egress = crl_egress_log_json(crl_egress_proxy_log(r->proxy));
        crl_egress_proxy_stop(r->proxy);
        r->proxy = NULL;
    }
    if (r->egress_dir[0]) {
        char owner[sizeof r->egress_dir + 8];
        snprintf(owner, sizeof owner, "%s/owner", r->egress_dir);
        unlink(owner);
        rmdir(r->egress_dir);
        r->egress_dir[0] = '\0';
    }
    for (int p = 0; p < CRL_EGRESS_NPHASES; p++) {
        free(r->egress_native[p]);
        r->egress_native[p] = NULL;
    }
    r->egress_applied = NULL;
    r->egress_applied_sb = NULL;
    crl_egress_free(&r->egress);
}
