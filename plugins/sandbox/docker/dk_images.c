/* sandbox_docker: the images slot, over the images corral built on the
 * daemon (label corral.build=1, set by dk_build.c): listed with the
 * containers made from each, removed by name.  Images the daemon only
 * pulled are its own and never touched.  docs/backends/docker.md
 * "Images corral built". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk.h"

#define LABEL_FILTER "{\"label\":[\"corral.build=1\"]}"

/* GET path into *r (status 200 checked); 0 or the failure. */
static int get(struct dk_plugin *p, const char *path, const char *what, struct dk_resp *r, corral_call *call)
{
    int rc = dk_api(p, "GET", path, NULL, NULL, NULL, NULL, 0, 3, r, call);
    if (rc == 0 && r->status != 200) {
        rc = dk_api_fail(p, r, what, call);
        dk_resp_free(r);
    }
    return rc;
}

static int list(struct dk_plugin *p, corral_backend_image_cb cb, void *ud, corral_call *call)
{
    char *path = dk_pathf("/images/json?filters=%s", LABEL_FILTER);
    if (!path)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    struct dk_resp ri, rcs;
    int rc = get(p, path, "image list", &ri, call);
    free(path);
    if (rc)
        return rc;
    if ((rc = get(p, "/containers/json?all=1", "container list", &rcs, call)) != 0) {
        dk_resp_free(&ri);
        return rc;
    }
    char err[256];
    rc = dk_images_walk(ri.body, ri.body_len, rcs.body ? rcs.body : "", rcs.body_len, cb, ud, err, sizeof err);
    if (rc == -1)
        rc = p->host->fail(call, CORRAL_EPROTO, "docker: %s", err);
    dk_resp_free(&ri);
    dk_resp_free(&rcs);
    return rc;
}

/* The containers made from image id (live_only: those that run), their
 * first names in names; the count, or a negative status. */
static int64_t users(struct dk_plugin *p, const char *id, int live_only, char *names, size_t cap,
                     corral_call *call)
{
    struct dk_resp r;
    names[0] = '\0';
    int rc = get(p, "/containers/json?all=1", "container list", &r, call);
    if (rc)
        return rc;
    cJSON *cs = dk_json(p, &r, "container list", call);
    dk_resp_free(&r);
    if (!cJSON_IsArray(cs)) {
        cJSON_Delete(cs);
        return p->host->fail(call, CORRAL_EPROTO, "docker: the daemon's list of containers is not a JSON array");
    }
    int64_t n = dk_image_users(cs, id, live_only, names, cap);
    cJSON_Delete(cs);
    return n;
}

static int remove_one(struct dk_plugin *p, const char *ref, int force, corral_call *call)
{
    const struct corral_host *h = p->host;
    if (!ref || !ref[0])
        return h->fail(call, CORRAL_EINVAL, "docker image rm: no image named");
    char *path = dk_pathf("/images/%s/json", ref);
    if (!path)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    struct dk_resp r;
    int rc = dk_api(p, "GET", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    free(path);
    if (rc)
        return rc;
    if (r.status == 404) {
        dk_resp_free(&r);
        return h->fail(call, CORRAL_ENOTFOUND, "%s: the docker daemon has no such image", ref);
    }
    cJSON *j = r.status == 200 ? dk_json(p, &r, "image inspect", call) : NULL;
    if (r.status != 200)
        rc = dk_api_fail(p, &r, "image inspect", call);
    dk_resp_free(&r);
    if (!j)
        return rc ? rc : CORRAL_EPROTO; /* dk_json failed the call */
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels"), "corral.build");
    char iid[160];
    snprintf(iid, sizeof iid, "%s", cJSON_IsString(id) ? id->valuestring : "");
    int ours = cJSON_IsString(v) && strcmp(v->valuestring, "1") == 0;
    cJSON_Delete(j);
    if (!iid[0])
        return h->fail(call, CORRAL_EPROTO, "docker image inspect of %s: the answer has no Id", ref);
    if (!ours)
        return h->fail(call, CORRAL_EPERM, "%s: not an image corral built on the docker daemon (pulled images "
                       "are the daemon's own: docker rmi removes them)", ref);
    /* Asked first: the daemon's force would only untag the image of a
     * running container and leave it nameless. */
    char names[512];
    int64_t n = users(p, iid, force, names, sizeof names, call);
    if (n < 0)
        return (int)n;
    if (n > 0)
        return h->fail(call, CORRAL_ESTATE, "%s: in use by container %s (%s: corral sandbox rm)", ref, names,
                       force ? "it runs; remove that sandbox first" : "remove that sandbox first, or --force while "
                                                                      "it does not run");
    if (!(path = dk_pathf(force ? "/images/%s?force=1" : "/images/%s", ref)))
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    rc = dk_api(p, "DELETE", path, NULL, NULL, NULL, NULL, 0, 1, &r, call);
    free(path);
    if (rc)
        return rc;
    if (r.status == 409) { /* a container made from it since, or another name's conflict */
        rc = dk_api_fail(p, &r, "image remove", call);
    } else if (r.status == 404) {
        rc = h->fail(call, CORRAL_ENOTFOUND, "%s: the docker daemon has no such image", ref);
    } else if (r.status != 200) {
        rc = dk_api_fail(p, &r, "image remove", call);
    }
    dk_resp_free(&r);
    return rc;
}

int dk_images(void *ps, int op, const char *ref, corral_backend_image_cb cb, void *ud, corral_call *call)
{
    struct dk_plugin *p = ps;
    switch (op) {
    case CORRAL_IMAGES_LIST:
        if (!cb)
            return p->host->fail(call, CORRAL_EINVAL, "docker image list: no callback");
        return list(p, cb, ud, call);
    case CORRAL_IMAGES_REMOVE:
    case CORRAL_IMAGES_REMOVE_FORCE:
        return remove_one(p, ref, op == CORRAL_IMAGES_REMOVE_FORCE, call);
    default:
        return p->host->fail(call, CORRAL_ENOTSUP, "docker: images op %d is not known", op);
    }
}
