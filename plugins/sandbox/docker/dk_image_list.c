/* sandbox_docker: reading the daemon's answers about images corral built
 * (pure, fuzzed): GET /images/json filtered on the corral.build=1 label,
 * and GET /containers/json?all=1 for the containers made from each.
 * docs/backends/docker.md "Images corral built". */
#include <stdio.h>
#include <string.h>

#include "dk.h"

/* Whether an image's Labels object says corral built it. */
static int built_by_corral(const cJSON *labels)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, "corral.build");
    return cJSON_IsString(v) && strcmp(v->valuestring, "1") == 0;
}

/* Whether a container's State keeps its image (running, paused, restarting). */
static int live(const cJSON *c)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "State");
    return !cJSON_IsString(st) || (strcmp(st->valuestring, "exited") != 0 && strcmp(st->valuestring, "created") != 0 &&
                                   strcmp(st->valuestring, "dead") != 0);
}

int64_t dk_image_users(const cJSON *containers, const char *id, int live_only, char *names, size_t cap)
{
    int64_t n = 0;
    size_t used = 0;
    if (cap)
        names[0] = '\0';
    const cJSON *c;
    cJSON_ArrayForEach(c, containers) {
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(c, "ImageID");
        if (!cJSON_IsString(img) || strcmp(img->valuestring, id) != 0 || (live_only && !live(c)))
            continue;
        n++;
        const cJSON *nm = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "Names"), 0);
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "Id");
        const char *name = cJSON_IsString(nm) ? nm->valuestring : cJSON_IsString(cid) ? cid->valuestring : "?";
        if (name[0] == '/')
            name++;
        if (cap && used + 1 < cap) {
            int w = snprintf(names + used, cap - used, "%s%.100s", used ? ", " : "", name);
            used = w < 0 || (size_t)w >= cap - used ? cap - 1 : used + (size_t)w;
        }
    }
    return n;
}

static int64_t number(const cJSON *o, const char *key, int64_t none)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e18 ? (int64_t)v->valuedouble : none;
}

int dk_images_walk(const char *images, size_t ilen, const char *containers, size_t clen, corral_backend_image_cb cb,
                   void *ud, char *err, size_t errcap)
{
    cJSON *imgs = cJSON_ParseWithLength(images ? images : "", ilen);
    cJSON *cs = containers ? cJSON_ParseWithLength(containers, clen) : NULL;
    int rc = 0;
    if (!cJSON_IsArray(imgs) || (containers && !cJSON_IsArray(cs))) {
        snprintf(err, errcap, "the daemon's list of %s is not a JSON array",
                 !cJSON_IsArray(imgs) ? "images" : "containers");
        rc = -1;
    }
    const cJSON *im;
    if (!rc)
        cJSON_ArrayForEach(im, imgs) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(im, "Id");
            if (!cJSON_IsString(id) || !id->valuestring[0] ||
                !built_by_corral(cJSON_GetObjectItemCaseSensitive(im, "Labels")))
                continue; /* what the label filter should have left out */
            struct corral_backend_image b = {.struct_size = sizeof b, .id = id->valuestring,
                                             .size = number(im, "Size", -1), .created = number(im, "Created", 0),
                                             .in_use = cs ? dk_image_users(cs, id->valuestring, 0, NULL, 0) : -1};
            const cJSON *t;
            int named = 0;
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(im, "RepoTags")) {
                if (!cJSON_IsString(t) || !t->valuestring[0] || strcmp(t->valuestring, "<none>:<none>") == 0)
                    continue;
                named = 1;
                b.ref = t->valuestring;
                if ((rc = cb(ud, &b)) != 0)
                    break;
            }
            if (!rc && !named) {
                b.ref = id->valuestring;
                rc = cb(ud, &b);
            }
            if (rc)
                break;
        }
    cJSON_Delete(imgs);
    cJSON_Delete(cs);
    return rc;
}
