/* Container lifecycle: create (idempotent by name), attach, state, pause,
 * liveness, list by labels, destroy/remove.  Every container:
 *  - is named after spec->id and carries spec->labels (corral.*);
 *  - runs /.corral/shim init <deadline> as PID 1: it reaps orphans and
 *    exits at the TTL, so the sandbox stops even if corral died (corral gc
 *    then removes it by label);
 *  - is never privileged: CapDrop ALL, CapAdd from config `cap_add`
 *    (default CHOWN DAC_OVERRIDE FOWNER SETUID SETGID, what package
 *    managers running as root inside need), no-new-privileges, network
 *    "none" unless spec->network is CORRAL_NET_FULL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dk.h"

static int inspect(struct dk_plugin *p, const char *ref, cJSON **out, corral_call *call)
{
    char *path = dk_pathf("/containers/%s/json", ref);
    if (!path)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    struct dk_resp r;
    int rc = dk_api(p, "GET", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    free(path);
    if (rc == 0 && r.status == 404)
        rc = p->host->fail(call, CORRAL_ENOTFOUND, "docker: no container %s", ref);
    else if (rc == 0 && r.status != 200)
        rc = dk_api_fail(p, &r, "inspect", call);
    if (rc == 0 && !(*out = dk_json(p, &r, "inspect", call)))
        rc = CORRAL_EPROTO;
    dk_resp_free(&r);
    return rc;
}

/* POST /containers/{id}/<verb>; statuses in ok[] count as success. */
static int post(struct dk_plugin *p, const char *cid, const char *verb, const long *ok, corral_call *call)
{
    char path[256];
    snprintf(path, sizeof path, "/containers/%s/%s", cid, verb);
    struct dk_resp r;
    int rc = dk_api(p, "POST", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    if (rc == 0) {
        int good = 0;
        for (size_t i = 0; ok[i]; i++)
            good |= r.status == ok[i];
        if (!good)
            rc = r.status == 404 ? p->host->fail(call, CORRAL_ENOTFOUND, "docker %s: container %s is gone", verb, cid)
                                 : dk_api_fail(p, &r, verb, call);
    }
    dk_resp_free(&r);
    return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int dk_upload_shim(struct dk_plugin *p, const char *cid, corral_call *call)
{
    struct dk_tar_entry e[2] = {
        {".corral/", 01777, NULL, 0, 0, 0},
        {".corral/shim", 0755, dk_shim_start, (size_t)(dk_shim_end - dk_shim_start), 0, 0},
    };
    char *tar;
    size_t len;
    if (dk_tar_build(e, 2, &tar, &len))
        return p->host->fail(call, CORRAL_ENOMEM, "cannot build the shim archive");
    struct dk_memsrc m;
    struct corral_source src;
    dk_memsrc_init(&m, &src, tar, len);
    int rc = dk_put_tar(p, cid, "/", &src, call);
    free(tar);
    return rc;
}

static char *dupn(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A handle from an inspect answer. */
static int handle_from(struct dk_plugin *p, const cJSON *ins, corral_sbx **out, corral_call *call)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(ins, "Config");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
    corral_sbx *s = calloc(1, sizeof *s);
    if (!s)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    s->p = p;
    s->cid = dupn(jstr(ins, "Id"));
    s->id = dupn(jstr(labels, "corral.id"));
    s->image = dupn(jstr(cfg, "Image"));
    const char *u = jstr(cfg, "User");
    s->user = u && *u ? strdup(u) : NULL;
    const char *w = jstr(cfg, "WorkingDir");
    s->workdir = strdup(w && *w ? w : "/");
    s->labels = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
    s->uid = s->gid = -1;
    s->lease_fd = -1;
    if (s->user) {
        char *end;
        long uid = strtol(s->user, &end, 10), gid = uid;
        if (end != s->user && *end == ':')
            gid = strtol(end + 1, &end, 10);
        if (end != s->user && *end == '\0' && uid >= 0 && gid >= 0) {
            s->uid = uid;
            s->gid = gid;
        }
    }
    if (!s->cid || !s->id || !s->image || !s->workdir || !s->labels || (u && *u && !s->user)) {
        dk_close(s);
        return p->host->fail(call, CORRAL_EPROTO, "docker inspect: container lacks an id or corral.id label");
    }
    *out = s;
    return 0;
}

/* The daemon answers pause and unpause before its own state says so
 * (moby records Paused when containerd's event arrives): wait, bounded by
 * the call and 10 s, until inspect reports `paused`, so that a resume or
 * running() right after sees it.  0, or the failure of an inspect. */
static int settle_paused(struct dk_plugin *p, const char *cid, int paused, corral_call *call)
{
    for (int i = 0; i < 500; i++) {
        cJSON *ins = NULL;
        int rc = inspect(p, cid, &ins, call);
        if (rc)
            return rc;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(ins, "State");
        int now = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Paused"));
        int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Running"));
        cJSON_Delete(ins);
        if (now == paused || !up || p->host->remaining_ms(call) < 40 || p->host->cancelled(call))
            return 0;
        dk_sleep_ms(20);
    }
    return 0;
}

/* Bring an existing container to "running": unpause or (re)start it. */
static int bring_up(struct dk_plugin *p, const cJSON *ins, int upload, corral_call *call)
{
    static const long ok_start[] = {204, 304, 0}, ok_unpause[] = {204, 0};
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ins, "State");
    const char *cid = jstr(ins, "Id");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Paused"))) {
        int rc = post(p, cid, "unpause", ok_unpause, call);
        return rc ? rc : settle_paused(p, cid, 0, call);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Running")))
        return 0;
    /* Never revive a sandbox past its TTL: PID 1 is "shim init DEADLINE". */
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ins, "Config"), "Cmd");
    const cJSON *dl = cJSON_GetArrayItem(cmd, 1);
    if (cJSON_IsString(dl) && atoll(dl->valuestring) > 0 && (long long)time(NULL) >= atoll(dl->valuestring))
        return p->host->fail(call, CORRAL_ESTATE, "docker: sandbox %s is past its TTL", cid);
    int rc = upload ? dk_upload_shim(p, cid, call) : 0;
    if (rc == 0)
        rc = post(p, cid, "start", ok_start, call);
    if (rc)
        return rc;
    /* PID 1 exits at once when the TTL has passed. */
    cJSON *now = NULL;
    if ((rc = inspect(p, cid, &now, call)))
        return rc;
    const cJSON *st2 = cJSON_GetObjectItemCaseSensitive(now, "State");
    int running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st2, "Running"));
    cJSON_Delete(now);
    if (!running)
        return p->host->fail(call, CORRAL_ESTATE, "docker: container %s stopped right after start (TTL passed?)", cid);
    return 0;
}

static int destroy_cid(struct dk_plugin *p, const char *cid, corral_call *call)
{
    char path[256];
    snprintf(path, sizeof path, "/containers/%s?force=1&v=1", cid);
    struct dk_resp r;
    int rc = dk_api(p, "DELETE", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    if (rc == 0 && r.status != 204 && r.status != 404 && r.status != 409)
        rc = dk_api_fail(p, &r, "remove", call);
    dk_resp_free(&r);
    return rc;
}

/* Whether the daemon has image, pulling it (from spec's sources) when
 * missing; *used gets the name to create from (image, or a mirror's
 * reference for a digest). */
static int image_check(struct dk_plugin *p, const char *image, const struct corral_sandbox_spec *spec,
                       const char **used, corral_call *call)
{
    *used = image;
    int have = dk_image_present(p, image, call);
    if (have != 0)
        return have < 0 ? have : 0;
    if (p->pull && strcmp(p->pull, "never") == 0)
        return p->host->fail(call, CORRAL_ENOTFOUND,
                             "docker image '%s' is not on the daemon, and the docker backend's pull is \"never\" "
                             "(docker pull/load/import it first)", image);
    return dk_image_pull(p, image, spec->image_sources, spec->image_sources ? spec->n_image_sources : 0, used, call);
}

/* The create body for spec; *err filled on a policy refusal. */
static int build_body(struct dk_plugin *p, const struct corral_sandbox_spec *spec, const char *image,
                      char **json, corral_call *call)
{
    const struct corral_host *h = p->host;
    char err[512] = "", deadline[32];
    int rc = 0;
    if (spec->network == CORRAL_NET_POLICY)
        return h->fail(call, CORRAL_ENOTSUP, "docker: egress policies are not supported (use none or full)");
    if (spec->network != CORRAL_NET_NONE && spec->network != CORRAL_NET_FULL)
        return h->fail(call, CORRAL_EINVAL, "docker: unknown network mode %d", spec->network);
    const char *why = spec->workdir ? crl_workdir_refusal(spec->workdir) : NULL;
    if (why)
        return h->fail(call, CORRAL_EINVAL, "docker: the workdir %.200s%s %s", spec->workdir,
                       strlen(spec->workdir) > 200 ? "..." : "", why);
    int64_t ttl = spec->ttl_s > 0 ? spec->ttl_s : p->default_ttl_s;
    snprintf(deadline, sizeof deadline, "%lld", ttl > 0 ? (long long)time(NULL) + (long long)ttl : 0LL);

    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "Image", image);
    cJSON *ep = cJSON_AddArrayToObject(b, "Entrypoint");
    cJSON_AddItemToArray(ep, cJSON_CreateString(DK_SHIM_PATH));
    cJSON *cmd = cJSON_AddArrayToObject(b, "Cmd");
    cJSON_AddItemToArray(cmd, cJSON_CreateString("init"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(deadline));
    cJSON *env = cJSON_AddArrayToObject(b, "Env");
    for (size_t i = 0; spec->env && spec->env[i]; i++) {
        const char *kv = spec->env[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv || strspn(kv, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                                    (size_t)(eq - kv) || (kv[0] >= '0' && kv[0] <= '9')) {
            rc = h->fail(call, CORRAL_EINVAL, "docker create: bad environment entry (name '%.*s')",
                         (int)strcspn(kv, "="), kv);
            goto out;
        }
        cJSON_AddItemToArray(env, cJSON_CreateString(kv));
    }
    cJSON *labels = cJSON_AddObjectToObject(b, "Labels");
    for (size_t i = 0; spec->labels && spec->labels[i]; i++) {
        const char *kv = spec->labels[i], *eq = strchr(kv, '=');
        size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
        if (kl == 0 || strpbrk(kv, "\n\r")) {
            rc = h->fail(call, CORRAL_EINVAL, "docker create: bad label '%s'", kv);
            goto out;
        }
        char *k = strndup(kv, kl);
        cJSON_DeleteItemFromObjectCaseSensitive(labels, k);
        cJSON_AddStringToObject(labels, k, eq ? eq + 1 : "");
        free(k);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(labels, "corral.id");
    cJSON_AddStringToObject(labels, "corral.id", spec->id);
    cJSON_AddStringToObject(b, "WorkingDir", spec->workdir ? spec->workdir : "/workspace");
    if (spec->user && *spec->user)
        cJSON_AddStringToObject(b, "User", spec->user);

    cJSON *hc = cJSON_AddObjectToObject(b, "HostConfig");
    cJSON_AddBoolToObject(hc, "Privileged", 0);
    cJSON *drop = cJSON_AddArrayToObject(hc, "CapDrop");
    cJSON_AddItemToArray(drop, cJSON_CreateString("ALL"));
    cJSON *add = cJSON_AddArrayToObject(hc, "CapAdd");
    for (size_t i = 0; p->cap_add && p->cap_add[i]; i++)
        cJSON_AddItemToArray(add, cJSON_CreateString(p->cap_add[i]));
    cJSON *so = cJSON_AddArrayToObject(hc, "SecurityOpt");
    cJSON_AddItemToArray(so, cJSON_CreateString("no-new-privileges"));
    cJSON_AddStringToObject(hc, "NetworkMode", spec->network == CORRAL_NET_FULL ? "bridge" : "none");
    cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
    cJSON_AddStringToObject(rp, "Name", "no");
    if (spec->memory_bytes > 0)
        cJSON_AddNumberToObject(hc, "Memory", (double)spec->memory_bytes);
    if (spec->cpus > 0)
        cJSON_AddNumberToObject(hc, "NanoCpus", (double)(int64_t)(spec->cpus * 1e9));
    if (spec->pids_max > 0)
        cJSON_AddNumberToObject(hc, "PidsLimit", (double)spec->pids_max);
    if (spec->file_size_bytes > 0) {
        cJSON *ul = cJSON_AddArrayToObject(hc, "Ulimits");
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "Name", "fsize");
        cJSON_AddNumberToObject(f, "Soft", (double)spec->file_size_bytes);
        cJSON_AddNumberToObject(f, "Hard", (double)spec->file_size_bytes);
        cJSON_AddItemToArray(ul, f);
    }
    /* spec->mounts come from corral itself (gate socket, agent cache):
     * checked against the deny list, not against allowed_mounts. */
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct corral_mount *m = &spec->mounts[i];
        if ((rc = dk_mount_check(m->host_path, m->sandbox_path, NULL, err, sizeof err))) {
            rc = h->fail(call, rc, "docker create: %s", err);
            goto out;
        }
        cJSON *ms = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");
        if (!ms)
            ms = cJSON_AddArrayToObject(hc, "Mounts");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Type", "bind");
        cJSON_AddStringToObject(o, "Source", m->host_path);
        cJSON_AddStringToObject(o, "Target", m->sandbox_path);
        cJSON_AddBoolToObject(o, "ReadOnly", m->read_only != 0);
        cJSON_AddItemToArray(ms, o);
    }
    const char *const *allowed = (const char *const *)p->allowed_mounts;
    if ((rc = dk_options_apply(p->create_options, allowed, b, hc, err, sizeof err)) ||
        (spec->options_json && (rc = dk_options_apply(spec->options_json, allowed, b, hc, err, sizeof err)))) {
        rc = h->fail(call, rc, "docker create: %s", err);
        goto out;
    }
    if (!(*json = cJSON_PrintUnformatted(b)))
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
out:
    cJSON_Delete(b);
    return rc;
}

/* The name is taken: adopt the container if it is ours (a retried create
 * whose first answer was lost), else refuse. */
static int adopt(struct dk_plugin *p, const char *id, corral_sbx **out, corral_call *call)
{
    cJSON *ins = NULL;
    int rc = inspect(p, id, &ins, call);
    if (rc)
        return rc == CORRAL_ENOTFOUND ? p->host->fail(call, CORRAL_ETRANSIENT, "docker create: name %s in flux", id) : rc;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ins, "Config"), "Labels");
    const char *cid = jstr(labels, "corral.id");
    if (!cid || strcmp(cid, id) != 0) {
        cJSON_Delete(ins);
        return p->host->fail(call, CORRAL_EEXIST, "docker create: a container named %s exists and is not corral's %s",
                             id, id);
    }
    rc = bring_up(p, ins, 1, call);
    if (rc == 0)
        rc = handle_from(p, ins, out, call);
    cJSON_Delete(ins);
    return rc;
}

int dk_create(void *ps, const struct corral_sandbox_spec *spec_in, corral_sbx **out, corral_call *call)
{
    struct dk_plugin *p = ps;
    const struct corral_host *h = p->host;
    /* Fields beyond the caller's struct_size read as zero. */
    struct corral_sandbox_spec sp;
    memset(&sp, 0, sizeof sp);
    if (spec_in)
        memcpy(&sp, spec_in, spec_in->struct_size < sizeof sp ? spec_in->struct_size : sizeof sp);
    const struct corral_sandbox_spec *spec = spec_in ? &sp : NULL;
    if (!spec || !spec->id || !*spec->id ||
        strspn(spec->id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(spec->id))
        return h->fail(call, CORRAL_EINVAL, "docker create: the sandbox id must be [A-Za-z0-9_.-]+");
    const char *image = spec->image && *spec->image ? spec->image : p->default_image;
    if (!image || !*image)
        return h->fail(call, CORRAL_ECONFIG, "docker create: no image given and no default `image` configured");
    char *json = NULL;
    int ownerfd = -1, lease_fd = -1;
    const char *used = image;
    int rc = build_body(p, spec, image, &json, call);
    if (rc == 0)
        rc = image_check(p, image, spec, &used, call);
    if (rc == 0 && used != image) { /* pulled by digest from a mirror: create from that name */
        free(json);
        json = NULL;
        rc = build_body(p, spec, used, &json, call);
    }
    if (rc == 0)
        rc = dk_lease_owner_check(p, spec, &ownerfd, call);
    if (rc) {
        free(json);
        return rc;
    }
    char path[256];
    snprintf(path, sizeof path, "/containers/create?name=%s", spec->id);
    struct dk_resp r;
    rc = dk_api(p, "POST", path, json, NULL, NULL, NULL, 0, 3, &r, call);
    free(json);
    if (rc) {
        dk_resp_free(&r);
        goto out;
    }
    if (r.status == 409) {
        dk_resp_free(&r);
        /* A retried create: the container is running already, so its
         * watcher starts right after it is known to be ours. */
        if ((rc = adopt(p, spec->id, out, call)) == 0 &&
            (rc = dk_lease_watch(p, spec, ownerfd, &(*out)->lease_fd, call)) != 0) {
            destroy_cid(p, (*out)->cid, call);
            dk_close(*out);
            *out = NULL;
        }
        goto out;
    }
    if (r.status == 404) {
        dk_resp_free(&r);
        rc = h->fail(call, CORRAL_ENOTFOUND, "docker image '%s' is not on the daemon", image);
        goto out;
    }
    if (r.status != 201) {
        rc = dk_api_fail(p, &r, "create", call);
        dk_resp_free(&r);
        goto out;
    }
    cJSON *j = dk_json(p, &r, "create", call);
    dk_resp_free(&r);
    const char *cid = jstr(j, "Id");
    if (!cid) {
        cJSON_Delete(j);
        rc = h->fail(call, CORRAL_EPROTO, "docker create: no Id in the answer");
        goto out;
    }
    /* From here on a failure must not leak the container.  The watcher
     * starts before the container does: a corral killed from here on
     * leaves no running agent. */
    cJSON *ins = NULL;
    static const long ok_start[] = {204, 304, 0};
    rc = dk_lease_watch(p, spec, ownerfd, &lease_fd, call);
    if (rc == 0)
        rc = dk_upload_shim(p, cid, call);
    if (rc == 0)
        rc = post(p, cid, "start", ok_start, call);
    if (rc == 0)
        rc = inspect(p, cid, &ins, call);
    if (rc == 0)
        rc = handle_from(p, ins, out, call);
    if (rc) {
        h->log(h, CORRAL_LOG_WARN, "docker: create of %s failed after the container existed; removing it", spec->id);
        dk_lease_release(&lease_fd, destroy_cid(p, cid, call) == 0);
    } else {
        (*out)->lease_fd = lease_fd;
    }
    cJSON_Delete(ins);
    cJSON_Delete(j);
out:
    if (ownerfd >= 0)
        close(ownerfd);
    return rc;
}

/* {"container": ..., "id": ...} from state_json. */
static int parse_state(struct dk_plugin *p, const char *state_json, char **ref, char **id, corral_call *call)
{
    cJSON *j = state_json ? cJSON_Parse(state_json) : NULL;
    const char *c = jstr(j, "container"), *i = jstr(j, "id");
    if (!c && !i) {
        cJSON_Delete(j);
        return p->host->fail(call, CORRAL_EINVAL, "docker: state JSON has neither container nor id");
    }
    *ref = strdup(c ? c : i);
    *id = i ? strdup(i) : NULL;
    cJSON_Delete(j);
    if (!*ref)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    return 0;
}

int dk_attach(void *ps, const char *state_json, corral_sbx **out, corral_call *call)
{
    struct dk_plugin *p = ps;
    char *ref = NULL, *id = NULL;
    int rc = parse_state(p, state_json, &ref, &id, call);
    if (rc)
        return rc;
    cJSON *ins = NULL;
    rc = inspect(p, ref, &ins, call);
    if (rc == 0) {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ins, "Config"), "Labels");
        const char *cid = jstr(labels, "corral.id");
        if (!cid || (id && strcmp(cid, id) != 0))
            rc = p->host->fail(call, CORRAL_ENOTFOUND, "docker attach: %s is not corral sandbox %s", ref, id ? id : "?");
    }
    if (rc == 0)
        rc = bring_up(p, ins, 1, call);
    if (rc == 0)
        rc = handle_from(p, ins, out, call);
    cJSON_Delete(ins);
    free(ref);
    free(id);
    return rc;
}

static char *state_of(const char *id, const char *cid, const char *image, const char *user,
                      const char *workdir, const cJSON *labels)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "backend", "docker");
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "container", cid);
    if (image)
        cJSON_AddStringToObject(o, "image", image);
    if (user)
        cJSON_AddStringToObject(o, "user", user);
    if (workdir)
        cJSON_AddStringToObject(o, "workdir", workdir);
    cJSON_AddItemToObject(o, "labels", labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int dk_state(corral_sbx *sbx, char **json, corral_call *call)
{
    *json = state_of(sbx->id, sbx->cid, sbx->image, sbx->user, sbx->workdir, sbx->labels);
    return *json ? 0 : sbx->p->host->fail(call, CORRAL_ENOMEM, "out of memory");
}

int dk_pause(corral_sbx *sbx, corral_call *call)
{
    static const long ok[] = {204, 0};
    int rc = post(sbx->p, sbx->cid, "pause", ok, call);
    if (rc == 0)
        return settle_paused(sbx->p, sbx->cid, 1, call);
    if (rc == CORRAL_ESTATE) {
        /* 409: already paused is fine; not running is not. */
        cJSON *ins = NULL;
        if (inspect(sbx->p, sbx->cid, &ins, call) == 0) {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(ins, "State");
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Paused")))
                rc = 0;
            cJSON_Delete(ins);
        }
    }
    return rc;
}

int dk_resume(corral_sbx *sbx, corral_call *call)
{
    cJSON *ins = NULL;
    int rc = inspect(sbx->p, sbx->cid, &ins, call);
    if (rc == 0)
        rc = bring_up(sbx->p, ins, 1, call);
    cJSON_Delete(ins);
    return rc;
}

int dk_running(corral_sbx *sbx, corral_call *call)
{
    cJSON *ins = NULL;
    int rc = inspect(sbx->p, sbx->cid, &ins, call);
    if (rc == CORRAL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ins, "State");
    int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Running")) &&
             !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Paused"));
    cJSON_Delete(ins);
    return up;
}

int dk_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    struct dk_plugin *p = ps;
    const struct corral_host *h = p->host;
    char *f = dk_label_filter_json(filters);
    if (!f)
        return h->fail(call, CORRAL_EINVAL, "docker list: empty label filter");
    char *path = dk_pathf("/containers/json?all=1&filters=%s", f);
    free(f);
    if (!path)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    struct dk_resp r;
    int rc = dk_api(p, "GET", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    free(path);
    if (rc == 0 && r.status != 200)
        rc = dk_api_fail(p, &r, "list", call);
    cJSON *arr = rc == 0 ? dk_json(p, &r, "list", call) : NULL;
    dk_resp_free(&r);
    if (rc || !arr)
        return rc ? rc : CORRAL_EPROTO;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr) {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
        const char *id = jstr(labels, "corral.id"), *cid = jstr(c, "Id"), *st = jstr(c, "State");
        if (!id || !cid)
            continue;
        const char *status = !st ? "unknown"
                           : strcmp(st, "running") == 0 ? "running"
                           : strcmp(st, "paused") == 0 ? "paused"
                           : (strcmp(st, "exited") == 0 || strcmp(st, "created") == 0 || strcmp(st, "dead") == 0)
                               ? "stopped" : "unknown";
        size_t nl = (size_t)cJSON_GetArraySize(labels);
        char **kv = calloc(nl + 1, sizeof *kv);
        char *state = state_of(id, cid, jstr(c, "Image"), NULL, NULL, labels);
        int stop = 0;
        if (kv && state) {
            size_t i = 0;
            const cJSON *l;
            cJSON_ArrayForEach(l, labels) {
                if (!cJSON_IsString(l))
                    continue;
                size_t ln = strlen(l->string) + strlen(l->valuestring) + 2;
                if ((kv[i] = malloc(ln)))
                    snprintf(kv[i++], ln, "%s=%s", l->string, l->valuestring);
            }
            struct corral_sandbox_info info = {.struct_size = sizeof info, .id = id, .status = status,
                                               .labels = (const char *const *)kv, .state_json = state};
            stop = cb(ud, &info);
        } else {
            rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
            stop = 1;
        }
        for (size_t i = 0; kv && kv[i]; i++)
            free(kv[i]);
        free(kv);
        free(state);
        if (stop)
            break;
    }
    cJSON_Delete(arr);
    return rc;
}

int dk_destroy(corral_sbx *sbx, corral_call *call)
{
    int rc = destroy_cid(sbx->p, sbx->cid, call);
    if (rc == 0)
        dk_lease_release(&sbx->lease_fd, 1);
    return rc;
}

int dk_remove(void *ps, const char *state_json, corral_call *call)
{
    struct dk_plugin *p = ps;
    char *ref = NULL, *id = NULL;
    int rc = parse_state(p, state_json, &ref, &id, call);
    if (rc)
        return rc;
    if (strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(ref))
        rc = p->host->fail(call, CORRAL_EINVAL, "docker remove: bad container reference");
    else
        rc = destroy_cid(p, ref, call);
    free(ref);
    free(id);
    return rc;
}

void dk_close(corral_sbx *sbx)
{
    if (!sbx)
        return;
    dk_lease_release(&sbx->lease_fd, 0);
    free(sbx->cid);
    free(sbx->id);
    free(sbx->image);
    free(sbx->user);
    free(sbx->workdir);
    cJSON_Delete(sbx->labels);
    free(sbx);
}
