/* corral export atif: past RolloutResults as ATIF trajectories, one
 * DIR/<rollout id>/trajectory.json each (corral/atif.h; docs/atif.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corral/atif.h>
#include <corral/report.h>

#include "cli.h"

/* A progress line every this many trajectories (and at the end, past it). */
#define PROGRESS_EVERY 1000

static void help(void)
{
    printf("Usage: corral export atif [-o DIR] FILE... [DIR]\n"
           "\n"
           "Converts results files (one RolloutResult a line, as `corral run --out FILE` writes them,\n"
           "shards too; a file that is one indented result is read whole; \"-\" reads stdin) into\n"
           "ATIF-v1.7 trajectories, Harbor's trajectory format: DIR/<rollout id>/trajectory.json for\n"
           "each result, written to a temporary file and renamed into place, DIR created if missing.\n"
           "Each FILE is read as `corral report` reads it: within one file the same (task_digest,\n"
           "attempt) twice keeps the later line (a resumed run); a torn last line is skipped; any other\n"
           "line that is not a RolloutResult is an error naming FILE:LINE, and nothing is written.\n"
           "Results of different files are all converted (they may be other runs of the same tasks).\n"
           "What each ATIF field holds is in docs/atif.md.\n"
           "\n"
           "  -o, --out DIR   where to write (else the last operand is DIR)\n"
           "\n"
           "A line on stderr every %d trajectories and at the end says how many were written.\n"
           "\n"
           "Exit status: 0 written, 1 a file could not be read, holds a line that is not a result, or a\n"
           "trajectory could not be written, 2 bad command line.\n",
           PROGRESS_EVERY);
}

/* Read input `file` into a new report *out: 0, or -1 after saying why.
 * Each input is its own report: results merge within a file (a resumed
 * run's file, shards sharing one), never across files, which may hold
 * other runs of the same tasks. */
static int read_input(const char *file, corral_report **out)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_report *r = *out = corral_report_new();
    int st;
    if (!r) {
        st = corral_call_fail(&call, CORRAL_ENOMEM, "out of memory");
    } else if (strcmp(file, "-") == 0) {
        size_t len = 0;
        char *data = cli_read_stdin(&len);
        st = data ? corral_report_add(r, "stdin", data, len, &call)
                  : corral_call_fail(&call, CORRAL_EIO, "stdin: cannot read");
        free(data);
    } else {
        st = corral_report_add_file(r, file, &call);
    }
    if (st)
        cli_error("export: %s", call.message);
    return st ? -1 : 0;
}

static int export_atif(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
        if (c != 'o')
            return CLI_USAGE;
        dir = optarg;
    }
    int n = argc - optind;
    if (!dir && n > 0)
        dir = argv[argc - 1], n--;
    if (!dir || n < 1) {
        cli_error("export atif: give one or more results files and a directory (see corral export atif --help)");
        return CLI_USAGE;
    }
    corral_report **reps = calloc((size_t)n, sizeof *reps);
    int rc = reps ? CLI_OK : CLI_FAIL;
    size_t total = 0, done = 0;
    for (int f = 0; rc == CLI_OK && f < n; f++) {
        rc = read_input(argv[optind + f], &reps[f]) ? CLI_FAIL : CLI_OK;
        total += corral_report_count(reps[f]);
    }
    for (size_t k = 0, f = 0, i = 0; rc == CLI_OK && k < total; k++, i++) {
        while (i >= corral_report_count(reps[f]))
            f++, i = 0;
        const char *json = corral_report_result_json(reps[f], i);
        struct corral_call call;
        corral_call_init(&call, 0);
        if (corral_atif_write(dir, json, strlen(json), NULL, &call) != 0) {
            cli_error("export: %s", call.message);
            rc = CLI_FAIL;
            break;
        }
        if (++done % PROGRESS_EVERY == 0 && !cli_globals.quiet)
            fprintf(stderr, "corral: export: %zu of %zu trajectories written\n", done, total);
    }
    if (!cli_globals.quiet && (rc == CLI_OK || done))
        fprintf(stderr, "corral: export: %zu trajectories written to %s\n", done, dir);
    for (int f = 0; reps && f < n; f++)
        corral_report_free(reps[f]);
    free(reps);
    if (!reps)
        cli_error("export: out of memory");
    return rc;
}

int cli_cmd_export(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        if (argc < 2) {
            cli_error("export: give a format: atif (see corral export --help)");
            return CLI_USAGE;
        }
        printf("Usage: corral export atif [-o DIR] FILE... [DIR]\n"
               "\n"
               "Formats:\n"
               "  atif   ATIF-v1.7 trajectories (Harbor's format), one per result\n"
               "\n"
               "`corral export atif --help` for the details.\n");
        return CLI_OK;
    }
    if (strcmp(argv[1], "atif") == 0) {
        if (cli_wants_help(argc - 1, argv + 1)) {
            help();
            return CLI_OK;
        }
        return export_atif(argc - 1, argv + 1);
    }
    cli_error("export: unknown format '%s' (formats: atif)", argv[1]);
    return CLI_USAGE;
}
