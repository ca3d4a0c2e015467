/* corral image: pull, list and remove container images in corral's image
 * cache, and list and remove the images corral made on a backend
 * (--backend, docs/images.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <corral/image.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral image pull REF...\n"
           "       corral image ls [--json] [--backend B]\n"
           "       corral image rm [--force] [--backend B] REF...\n"
           "       corral image prune [--backend B]\n"
           "\n"
           "Container images for sandboxes, kept in corral's image cache: images.cache_dir in the\n"
           "configuration, else $CORRAL_IMAGE_CACHE, else /var/cache/corral/images for root, else\n"
           "$XDG_CACHE_HOME/corral/images (~/.cache/corral/images).\n"
           "\n"
           "  pull REF   fetch an image from its registry (REF as Docker names them: ubuntu:24.04,\n"
           "             registry:5000/org/img@sha256:...), trying images.mirrors for its registry first;\n"
           "             every blob is checked against its digest, the layers are unpacked once into a\n"
           "             read-only root filesystem.  Logins come from $DOCKER_CONFIG/config.json\n"
           "             (else ~/.docker/config.json) \"auths\".  Progress goes to stderr; stdout gets\n"
           "             one line per image: DIGEST NAME.\n"
           "  ls         the images in the cache: NAME DIGEST SIZE LAYERS (--json: one JSON object a line)\n"
           "  rm REF     forget REF; its blobs and root filesystem go unless another image uses them.\n"
           "             Refused (exit 1) while a sandbox runs on that root filesystem; --force forgets\n"
           "             REF anyway and leaves the files to a prune after the sandbox ended\n"
           "  prune      remove blobs and root filesystems no image uses, and leftovers of interrupted\n"
           "             pulls (waits for running pulls); a root filesystem a sandbox runs on is kept,\n"
           "             one line on stderr names it\n"
           "\n"
           "  --backend B  ls, rm and prune the images corral made on sandbox backend B instead of the\n"
           "             cache: on docker those it built from tasks' Dockerfiles (corral-build:<sha256>,\n"
           "             label corral.build=1).  Images the daemon pulled are its own: never listed nor\n"
           "             removed.  ls adds a column WHERE (the backend; DIGEST is the daemon's image id,\n"
           "             LAYERS is -); rm refuses (exit 1) an image a container was made from, naming\n"
           "             the container (--force: unless that container runs); prune removes every\n"
           "             one no container was made from\n"
           "\n"
           "Exit status: 0 done, 1 failed (the reason on stderr), 2 bad command line, 3 invalid\n"
           "configuration.\n");
}

static void progress(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "corral: %s\n", line);
}

static int do_pull(corral_ctx *ctx, int argc, char **argv)
{
    int failed = 0;
    for (int i = 0; i < argc; i++) {
        struct corral_call call;
        corral_call_init(&call, 0);
        struct corral_image_pull_options o = {.struct_size = sizeof o,
                                              .progress = cli_globals.quiet ? NULL : progress};
        struct corral_image_info info;
        if (corral_image_pull(ctx, argv[i], &o, &info, &call) != 0) {
            cli_error("image: %s", call.message);
            failed = 1;
            continue;
        }
        printf("%s %s\n", info.digest, info.name);
        fflush(stdout);
    }
    return failed ? CLI_FAIL : CLI_OK;
}

/* Print o as one JSON line and delete it (the caller's, now consumed). */
static void put_json_line(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s)
        puts(s);
    cJSON_free(s);
}

static int print_ls(void *ud, const struct corral_image_info *img)
{
    if (*(int *)ud) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", img->name);
        cJSON_AddStringToObject(o, "digest", img->digest);
        cJSON_AddStringToObject(o, "config", img->config_digest);
        cJSON_AddNumberToObject(o, "size", (double)img->size);
        cJSON_AddNumberToObject(o, "layers", (double)img->layers);
        if (img->rootfs[0])
            cJSON_AddStringToObject(o, "rootfs", img->rootfs);
        else
            cJSON_AddNullToObject(o, "rootfs");
        put_json_line(o);
    } else {
        printf("%s %s %lld %lld\n", img->name, img->digest, (long long)img->size, (long long)img->layers);
    }
    return 0;
}

static void kept_in_use(void *ud, const char *digest)
{
    (void)ud;
    fprintf(stderr, "corral: image prune: kept the root filesystem of %s: a running sandbox uses it\n", digest);
}

/* The listing line of an image corral made on a backend: the cache's
 * columns (the backend's image id as DIGEST, LAYERS unknown) plus WHERE. */
struct backend_ls {
    int json;
    const char *backend;
};

static int print_backend(void *ud, const struct corral_backend_image *img)
{
    const struct backend_ls *b = ud;
    if (b->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", img->ref);
        cJSON_AddStringToObject(o, "digest", img->id);
        cJSON_AddNullToObject(o, "config");
        cJSON_AddNumberToObject(o, "size", (double)img->size);
        cJSON_AddNullToObject(o, "layers");
        cJSON_AddNullToObject(o, "rootfs");
        cJSON_AddStringToObject(o, "where", b->backend);
        cJSON_AddNumberToObject(o, "created", (double)img->created);
        cJSON_AddNumberToObject(o, "in_use", (double)img->in_use);
        put_json_line(o);
    } else {
        printf("%s %s %lld - %s\n", img->ref, img->id, (long long)img->size, b->backend);
    }
    return 0;
}

/* The names prune removes: those of images no container was made from. */
struct prune_list {
    struct crl_strv names;
    int oom;
};

static int collect_unused(void *ud, const struct corral_backend_image *img)
{
    struct prune_list *l = ud;
    if (img->in_use == 0)
        l->oom |= crl_strv_push(&l->names, img->ref);
    else
        fprintf(stderr, "corral: image prune: kept %s: %s\n", img->ref,
                img->in_use > 0 ? "a container was made from it" : "the backend cannot tell whether it is used");
    return 0;
}

static int backend_prune(corral_ctx *ctx, const char *backend, struct corral_call *call)
{
    struct prune_list l = {0};
    int rc = corral_image_backend_list(ctx, backend, collect_unused, &l, call);
    if (rc || l.oom) {
        crl_strv_free(&l.names);
        if (!rc)
            cli_error("image prune: out of memory");
        else
            cli_error("image prune: %s", call->message);
        return CLI_FAIL;
    }
    int removed = 0, failed = 0;
    for (size_t i = 0; i < l.names.n; i++) {
        corral_call_init(call, 0);
        rc = corral_image_backend_remove(ctx, backend, l.names.v[i], 0, call);
        if (rc == 0)
            removed++;
        else if (rc == CORRAL_ESTATE) /* a container made from it since the listing */
            fprintf(stderr, "corral: image prune: kept %s\n", call->message);
        else if (rc != CORRAL_ENOTFOUND) {
            cli_error("image prune: %s", call->message);
            failed = 1;
        }
    }
    crl_strv_free(&l.names);
    printf("removed %d images from %s\n", removed, backend);
    return failed ? CLI_FAIL : CLI_OK;
}

int cli_cmd_image(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        help();
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1], *backend = NULL;
    int json = 0, force = 0, is_pull = !strcmp(sub, "pull"), is_rm = !strcmp(sub, "rm");
    if (!is_pull && !is_rm && strcmp(sub, "ls") != 0 && strcmp(sub, "prune") != 0) {
        cli_error("image: unknown subcommand '%s' (pull, ls, rm, prune)", sub);
        return CLI_USAGE;
    }
    /* Options first (pull has none), then the operands. */
    int first = 2;
    for (; first < argc && argv[first][0] == '-' && !is_pull; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "--json") && !strcmp(sub, "ls")) {
            json = 1;
        } else if (!strcmp(a, "--force") && is_rm) {
            force = 1;
        } else if (!strcmp(a, "--backend") && first + 1 < argc && argv[first + 1][0]) {
            backend = argv[++first];
        } else if (!strncmp(a, "--backend=", 10) && a[10]) {
            backend = a + 10;
        } else {
            cli_error("image %s: %s '%s' (see corral image --help)", sub,
                      !strcmp(a, "--backend") ? "a backend name must follow" : "unknown option", a);
            return CLI_USAGE;
        }
    }
    int nargs = argc - first;
    if ((is_pull || is_rm) && !nargs) {
        cli_error("image %s: which image? (see corral image --help)", sub);
        return CLI_USAGE;
    }
    if (!is_pull && !is_rm && nargs) {
        cli_error("image %s: unexpected argument '%s' (see corral image --help)", sub, argv[first]);
        return CLI_USAGE;
    }
    for (int i = first; i < argc; i++)
        if (argv[i][0] == '-') {
            cli_error("image %s: unknown option '%s' (%ssee corral image --help)", sub, argv[i],
                      is_pull ? "" : "options go before the images; ");
            return CLI_USAGE;
        }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = CLI_OK;
    if (is_pull) {
        rc = do_pull(ctx, nargs, argv + first);
    } else if (backend && !strcmp(sub, "ls")) {
        struct backend_ls b = {.json = json, .backend = backend};
        if (corral_image_backend_list(ctx, backend, print_backend, &b, &call) != 0) {
            cli_error("image ls: %s", call.message);
            rc = CLI_FAIL;
        }
    } else if (backend && is_rm) {
        for (int i = first; i < argc; i++) {
            corral_call_init(&call, 0);
            if (corral_image_backend_remove(ctx, backend, argv[i], force, &call) != 0) {
                cli_error("image rm: %s", call.message);
                rc = CLI_FAIL;
            } else {
                printf("removed %s from %s\n", argv[i], backend);
            }
        }
    } else if (backend) {
        rc = backend_prune(ctx, backend, &call);
    } else if (!strcmp(sub, "ls")) {
        if (corral_image_list(ctx, print_ls, &json, &call) != 0) {
            cli_error("image ls: %s", call.message);
            rc = CLI_FAIL;
        }
    } else if (is_rm) {
        for (int i = first; i < argc; i++) {
            corral_call_init(&call, 0);
            if (corral_image_remove(ctx, argv[i], force, &call) != 0) {
                cli_error("image rm: %s", call.message);
                rc = CLI_FAIL;
            } else {
                printf("removed %s\n", argv[i]);
            }
        }
    } else {
        struct corral_image_prune_stats st;
        struct corral_image_prune_options po = {.struct_size = sizeof po, .in_use = kept_in_use};
        if (corral_image_prune(ctx, &po, &st, &call) != 0) {
            cli_error("image prune: %s", call.message);
            rc = CLI_FAIL;
        } else {
            printf("removed %lld blobs (%lld bytes), %lld root filesystems, %lld leftovers of interrupted pulls\n",
                   (long long)st.blobs, (long long)st.bytes, (long long)st.rootfs, (long long)st.partial);
        }
    }
    corral_close(ctx);
    return rc;
}
