/*
 * sandbox_docker: corral's Docker backend.  Talks to the Docker Engine API
 * (unix socket or tcp:// from DOCKER_HOST / config `host`) through the
 * host's HTTP service; never runs the docker CLI.  See dk.h for the file
 * layout and README.md in this directory for the decisions.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dk.h"

#define AT(field) offsetof(struct dk_plugin, field)
static const struct corral_option options[] = {
    {"host", CORRAL_OPT_STRING, CORRAL_OPT_BIND, NULL,
     "Docker daemon address, unix:///path or tcp://host:port (default: $DOCKER_HOST, else "
     "unix:///var/run/docker.sock)", AT(docker_host), 0, 0},
    {"image", CORRAL_OPT_STRING, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "\"debian:bookworm-slim\"",
     "image used when the task names none", AT(default_image), 1, 0},
    {"pull", CORRAL_OPT_STRING, CORRAL_OPT_BIND, "\"missing\"",
     "\"missing\": pull an image the daemon lacks (POST /images/create) before create; \"never\": refuse it",
     AT(pull), 0, 0},
    {"allowed_mounts", CORRAL_OPT_STRINGS, CORRAL_OPT_BIND, "[]",
     "host directories under which create option `mounts` may bind (default: none)", AT(allowed_mounts), 0, 0},
    {"cap_add", CORRAL_OPT_STRINGS, CORRAL_OPT_BIND, "[\"CHOWN\",\"DAC_OVERRIDE\",\"FOWNER\",\"SETUID\",\"SETGID\"]",
     "capabilities kept after dropping ALL (only CHOWN DAC_OVERRIDE FOWNER FSETID SETUID SETGID KILL "
     "NET_BIND_SERVICE SYS_CHROOT SETFCAP AUDIT_WRITE are accepted)", AT(cap_add_names), 0, 0},
    {"create_options", CORRAL_OPT_STRING, CORRAL_OPT_BIND, NULL,
     "JSON object of extra create options applied to every sandbox (same allowlist as a task's options)",
     AT(create_options), 0, 0},
    {"default_ttl_s", CORRAL_OPT_INT, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "86400",
     "TTL when the spec gives none; PID 1 exits after it (0 = none)", AT(default_ttl_s), 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

/* Releases what dk_init made; the host frees the block itself. */
static void dk_fini(void *state)
{
    struct dk_plugin *p = state;
    free(p->socket);
    free(p->base);
    free(p->cap_add);
    if (p->shim_fd >= 0)
        close(p->shim_fd);
    pthread_mutex_destroy(&p->lock);
}

/* The options are bound and range-checked by the host; what is left is
 * docker's own: the daemon address, the capability allowlist and the
 * create options' allowlist. */
static int dk_init(const struct corral_host *h, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg;
    struct dk_plugin *p = state;
    p->host = h;
    p->shim_fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    const char *host = p->docker_host && *p->docker_host ? p->docker_host : getenv("DOCKER_HOST");
    if (getenv("DOCKER_TLS_VERIFY") && *getenv("DOCKER_TLS_VERIFY") && host && strncmp(host, "tcp://", 6) == 0)
        return h->fail(call, CORRAL_ENOTSUP, "docker: TLS (DOCKER_TLS_VERIFY) is not supported; use the unix socket");
    int rc = dk_api_set_host(p, host, call);
    if (rc)
        return rc;
    size_t n = 0;
    while (p->cap_add_names && p->cap_add_names[n])
        n++;
    if (!(p->cap_add = calloc(n + 1, sizeof *p->cap_add)))
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!dk_cap_allowed(p->cap_add_names[i], &p->cap_add[i]))
            return h->fail(call, CORRAL_ECONFIG, "docker: cap_add '%s' is not allowed", p->cap_add_names[i]);
    if (p->pull && strcmp(p->pull, "missing") != 0 && strcmp(p->pull, "never") != 0)
        return h->fail(call, CORRAL_ECONFIG, "docker: pull must be \"missing\" or \"never\", not \"%s\"", p->pull);
    if (p->create_options && !*p->create_options)
        p->create_options = NULL;
    if (p->create_options) {
        char err[512] = "";
        cJSON *b = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(b, "HostConfig");
        rc = dk_options_apply(p->create_options, p->allowed_mounts, b, hc, err, sizeof err);
        cJSON_Delete(b);
        if (rc)
            return h->fail(call, CORRAL_ECONFIG, "docker: create_options: %s", err);
    }
    return 0;
}

static const struct corral_sandbox_ops ops = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_CONCURRENT | CORRAL_CAP_PAUSE | CORRAL_CAP_HOST_MOUNTS | CORRAL_CAP_PERSISTENT |
            CORRAL_CAP_LIMITS | CORRAL_CAP_TTL,
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
    .quiesce = dk_quiesce,
    .build_image = dk_build_image,
    .image_present = dk_image_present,
    .images = dk_images,
    .close = dk_close,
};

static const struct corral_plugin descriptor = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "docker",
    .version = "0.1.0",
    .description = "Docker Engine API sandboxes (unix socket or DOCKER_HOST; never privileged)",
    .options = options,
    .option_size = sizeof(struct corral_option),
    .ops = &ops,
    .init2 = dk_init,
    .fini = dk_fini,
    .state_size = sizeof(struct dk_plugin),
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
    return &descriptor;
}
