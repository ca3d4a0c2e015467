/* corral gc: remove sandboxes past their deadline on every loaded backend. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <corral/gate.h>
#include <corral/sandbox_host.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral gc [--dry-run]\n"
           "\n"
           "Asks every loaded sandbox backend that can list for the sandboxes corral made (label\n"
           "corral.id) and removes those whose corral.deadline has passed or that the backend\n"
           "reports dead, then forgets local registry entries whose sandbox no longer exists.\n"
           "A rollout's sandbox (label corral.lease) is removed as soon as the corral process\n"
           "that ran the rollout is gone; other sandboxes are kept until their deadline even if\n"
           "their creator died.  Then removes the private gate directories (corral-gate-* under\n"
           "$TMPDIR or /tmp) whose corral process is gone.  The image cache is left alone (corral\n"
           "image prune removes what no image uses, never an image a sandbox runs on).\n"
           "\n"
           "  --dry-run   print what would be removed, remove nothing\n"
           "\n"
           "One line per sandbox considered: ACTION ID BACKEND (remove, keep, forget, failed), and\n"
           "one per gate directory removed.\n"
           "\n"
           "Exit status: 0 done, 1 some removal failed.\n");
}

static int print_cb(void *ud, const struct corral_sandbox_entry *e)
{
    int dry = *(int *)ud;
    long long left = e->deadline ? (long long)(e->deadline - (int64_t)time(NULL)) : 0;
    const char *a = e->action ? e->action : "keep";
    if (!strcmp(a, "keep"))
        printf("keep     %s %s (%lld s left)\n", e->id, e->backend, left);
    else if (!strcmp(a, "remove"))
        printf("%s %s %s (%s)\n", dry ? "would rm" : "removed ", e->id, e->backend,
               strcmp(e->status, "dead") == 0                                    ? "dead"
               : e->deadline > 0 && e->deadline <= (int64_t)time(NULL) ? "deadline passed"
                                                                               : "its corral is gone");
    else if (!strcmp(a, "forget"))
        printf("%s %s %s (gone from the backend)\n", dry ? "would forget" : "forgot  ", e->id, e->backend);
    else
        printf("failed   %s %s\n", e->id, e->backend);
    return 0;
}

static void gate_cb(void *ud, const char *path)
{
    printf("%s %s (its corral is gone)\n", *(int *)ud ? "would rm" : "removed ", path);
}

int cli_cmd_gc(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    int dry = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n")) {
            dry = 1;
        } else {
            cli_error("gc: unknown argument '%s' (see corral gc --help)", argv[i]);
            return CLI_USAGE;
        }
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gc_stats st = { 0 };
    int r = corral_gc(ctx, dry, print_cb, &dry, &st, &call);
    corral_close(ctx);
    int gates = corral_gate_dirs_gc(dry, gate_cb, &dry);
    if (r) {
        cli_error("gc: %s", call.message);
        return CLI_FAIL;
    }
    fprintf(stderr, "corral: gc: %d seen, %d removed, %d forgotten, %d failed, %d gate dirs%s\n", st.seen,
            st.removed, st.forgotten, st.failed, gates, dry ? " (dry run)" : "");
    return st.failed ? CLI_FAIL : CLI_OK;
}
