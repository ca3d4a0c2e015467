/*
 * sandbox_docker: corral's Docker backend.  Talks to the Docker Engine API
 * (unix socket or tcp:// from DOCKER_HOST / config `host`) through the
 * host's HTTP service; never runs the docker CLI.  See dk.h for the file
 * layout and README.md in this directory for the decisions.
 */
#include <stdlib.h>
#include <string.h>
#include "dk.h"

static const struct corral_host *g_host;

static const struct corral_option options[] = {
    {"host", CORRAL_OPT_STRING, 0, NULL,
     "Docker daemon address, unix:///path or tcp://host:port (default: $DOCKER_HOST, else "
     "unix:///var/run/docker.sock)"},
    {"image", CORRAL_OPT_STRING, 0, "\"debian:bookworm-slim\"",
     "image used when the task names none; must already be on the daemon (corral never pulls)"},
    {"allowed_mounts", CORRAL_OPT_STRINGS, 0, "[]",
     "host directories under which create option `mounts` may bind (default: none)"},
    {"cap_add", CORRAL_OPT_STRINGS, 0, "[\"CHOWN\",\"DAC_OVERRIDE\",\"FOWNER\",\"SETUID\",\"SETGID\"]",
     "capabilities kept after dropping ALL (only CHOWN DAC_OVERRIDE FOWNER FSETID SETUID SETGID KILL "
     "NET_BIND_SERVICE SYS_CHROOT SETFCAP AUDIT_WRITE are accepted)"},
    {"create_options", CORRAL_OPT_STRING, 0, NULL,
     "JSON object of extra create options applied to every sandbox (same allowlist as a task's options)"},
    {"default_ttl_s", CORRAL_OPT_INT, 0, "86400",
     "TTL when the spec gives none; PID 1 exits after it (0 = none)"},
    {NULL, 0, 0, NULL, NULL},
};

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void dk_fini(void *state)
{
    struct dk_plugin *p = state;
    if (!p)
        return;
    free(p->socket);
    free(p->base);
    free(p->default_image);
    free_strv(p->allowed_mounts);
    free_strv(p->cap_add);
    free(p->create_options);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static char **dup_strv(const char *const *v, size_t extra)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **o = calloc(n + extra + 1, sizeof *o);
    for (size_t i = 0; o && i < n; i++)
        if (!(o[i] = strdup(v[i]))) {
            free_strv(o);
            return NULL;
        }
    return o;
}

static int dk_init(const corral_config *cfg, void **state, corral_call *call)
{
    const struct corral_host *h = g_host;
    struct dk_plugin *p = calloc(1, sizeof *p);
    if (!p)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    p->host = h;
    pthread_mutex_init(&p->lock, NULL);
    int rc = 0;
    const char *host = cfg ? h->config_string(cfg, "host") : NULL;
    if (!host || !*host)
        host = getenv("DOCKER_HOST");
    if (getenv("DOCKER_TLS_VERIFY") && *getenv("DOCKER_TLS_VERIFY") && host && strncmp(host, "tcp://", 6) == 0) {
        rc = h->fail(call, CORRAL_ENOTSUP, "docker: TLS (DOCKER_TLS_VERIFY) is not supported; use the unix socket");
        goto out;
    }
    if ((rc = dk_api_set_host(p, host, call)))
        goto out;
    const char *img = cfg ? h->config_string(cfg, "image") : NULL;
    p->default_image = strdup(img ? img : "debian:bookworm-slim");
    const char *const *am = cfg ? h->config_strings(cfg, "allowed_mounts") : NULL;
    p->allowed_mounts = dup_strv(am, 0);
    const char *const *caps = cfg ? h->config_strings(cfg, "cap_add") : NULL;
    static const char *const def_caps[] = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", NULL};
    if (!caps)
        caps = def_caps;
    p->cap_add = dup_strv(caps, 0);
    if (!p->default_image || !p->allowed_mounts || !p->cap_add) {
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; p->cap_add[i]; i++) {
        const char *canon;
        if (!dk_cap_allowed(p->cap_add[i], &canon)) {
            rc = h->fail(call, CORRAL_ECONFIG, "docker: cap_add '%s' is not allowed", p->cap_add[i]);
            goto out;
        }
        char *c = strdup(canon);
        if (!c) {
            rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
            goto out;
        }
        free(p->cap_add[i]);
        p->cap_add[i] = c;
    }
    const char *co = cfg ? h->config_string(cfg, "create_options") : NULL;
    if (co && *co) {
        char err[512] = "";
        cJSON *b = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(b, "HostConfig");
        rc = dk_options_apply(co, (const char *const *)p->allowed_mounts, b, hc, err, sizeof err);
        cJSON_Delete(b);
        if (rc) {
            rc = h->fail(call, CORRAL_ECONFIG, "docker: create_options: %s", err);
            goto out;
        }
        p->create_options = strdup(co);
    }
    p->default_ttl_s = cfg ? h->config_int(cfg, "default_ttl_s") : 86400;
out:
    if (rc) {
        dk_fini(p);
        return rc;
    }
    *state = p;
    return 0;
}

static const struct corral_sandbox_ops ops = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_PAUSE | CORRAL_CAP_HOST_MOUNTS | CORRAL_CAP_PERSISTENT | CORRAL_CAP_LIMITS |
            CORRAL_CAP_TTL,
    .create = dk_create,
    .attach = dk_attach,
    .state = dk_state,
    .exec = dk_exec,
    .spawn = dk_spawn,
    .job_wait = dk_job_wait,
    .job_kill = dk_job_kill,
    .job_free = dk_job_free,
    .read_file = dk_read_file,
    .write_file = dk_write_file,
    .put_archive = dk_put_archive,
    .get_archive = dk_get_archive,
    .pause = dk_pause,
    .resume = dk_resume,
    .running = dk_running,
    .list = dk_list,
    .destroy = dk_destroy,
    .remove = dk_remove,
    .close = dk_close,
};

static const struct corral_plugin descriptor = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 0),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "docker",
    .version = "0.1.0",
    .description = "Docker Engine API sandboxes (unix socket or DOCKER_HOST; never privileged)",
    .options = options,
    .option_size = sizeof(struct corral_option),
    .ops = &ops,
    .init = dk_init,
    .fini = dk_fini,
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    if (!offer || !offer->host)
        return NULL;
    const struct corral_host *h = offer->host;
    if (!corral_offer_host(offer, 1) || !CORRAL_HAS(h, http) || !CORRAL_HAS(h, http_response_free) || !CORRAL_HAS(h, fail) ||
        !CORRAL_HAS(h, config_strings) || !CORRAL_HAS(h, now_ms)) {
        if (CORRAL_HAS(h, log))
            h->log(h, CORRAL_LOG_ERROR, "docker: host lacks ABI 1 or the http/config services");
        return NULL;
    }
    g_host = h;
    return &descriptor;
}
