/* corral image: pull, list and remove container images in corral's image
 * cache (docs/images.md). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <corral/image.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral image pull REF...\n"
           "       corral image ls [--json]\n"
           "       corral image rm [--force] REF...\n"
           "       corral image prune\n"
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
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (s)
            puts(s);
        cJSON_free(s);
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

int cli_cmd_image(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        help();
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1];
    int json = 0, force = 0, first = 2, nargs = argc - 2;
    if (!strcmp(sub, "ls")) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") != 0) {
                cli_error("image ls: unknown argument '%s' (see corral image --help)", argv[i]);
                return CLI_USAGE;
            }
            json = 1;
        }
    } else if (!strcmp(sub, "prune")) {
        if (nargs) {
            cli_error("image prune takes no arguments (see corral image --help)");
            return CLI_USAGE;
        }
    } else if (!strcmp(sub, "pull") || !strcmp(sub, "rm")) {
        if (!strcmp(sub, "rm") && nargs && !strcmp(argv[2], "--force")) {
            force = 1;
            first = 3;
            nargs--;
        }
        if (!nargs) {
            cli_error("image %s: which image? (see corral image --help)", sub);
            return CLI_USAGE;
        }
        for (int i = first; i < argc; i++)
            if (argv[i][0] == '-') {
                cli_error("image %s: unknown option '%s' (see corral image --help)", sub, argv[i]);
                return CLI_USAGE;
            }
    } else {
        cli_error("image: unknown subcommand '%s' (pull, ls, rm, prune)", sub);
        return CLI_USAGE;
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = CLI_OK;
    if (!strcmp(sub, "pull")) {
        rc = do_pull(ctx, nargs, argv + 2);
    } else if (!strcmp(sub, "ls")) {
        if (corral_image_list(ctx, print_ls, &json, &call) != 0) {
            cli_error("image ls: %s", call.message);
            rc = CLI_FAIL;
        }
    } else if (!strcmp(sub, "rm")) {
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
