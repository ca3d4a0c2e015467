/* corral report: merge RolloutResult JSONL files and print their summary
 * (the report library, corral/report.h; docs/report.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corral/report.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral report [--json] FILE...\n"
           "\n"
           "Reads results JSONL files (one RolloutResult a line, as `corral run --attempts K --out FILE`\n"
           "writes them; \"-\" reads stdin), merges them deduplicated by (task_digest, attempt): when\n"
           "the same pair appears twice, the later one wins (later FILE on the command line, later\n"
           "line in a file).  Results without task_digest and attempt (older corral) are never merged.\n"
           "A file that is one indented result (what a lone `corral run` writes) is read whole.\n"
           "A last line without its newline that is not complete JSON (a crash mid-write) is skipped\n"
           "and said so; any other line that is not a RolloutResult is an error naming FILE:LINE.\n"
           "\n"
           "Prints: rollouts and tasks, duplicates replaced, errors by class and by phase, mean reward\n"
           "overall and per task, pass@k (unbiased estimator; a pass is no error and reward >= 1) for\n"
           "k = 1, 2, 4, ... up to the fewest attempts of any task, and per-phase timing percentiles\n"
           "(nearest rank) of timings_ms.\n"
           "\n"
           "  --json   print the summary as one JSON document (shape in docs/report.md)\n"
           "\n"
           "Exit status: 0 printed, 1 a file could not be read or holds a line that is not a result,\n"
           "2 bad command line.\n");
}

int cli_cmd_report(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    int json;
    int first = cli_json_operands(argc, argv, "report: give one or more results files (see corral report --help)",
                                  &json);
    if (first < 0)
        return CLI_USAGE;
    corral_report *r = corral_report_new();
    if (!r) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    for (int i = first; rc == CLI_OK && i < argc; i++) {
        struct corral_call call;
        corral_call_init(&call, 0);
        int st;
        if (strcmp(argv[i], "-") == 0) {
            size_t len = 0;
            char *data = cli_read_stdin(&len);
            st = data ? corral_report_add(r, "stdin", data, len, &call)
                      : corral_call_fail(&call, CORRAL_EIO, "stdin: cannot read");
            free(data);
        } else {
            st = corral_report_add_file(r, argv[i], &call);
        }
        if (st) {
            cli_error("report: %s", call.message);
            rc = CLI_FAIL;
        }
    }
    char *out = rc != CLI_OK ? NULL : json ? corral_report_summary_json(r) : corral_report_summary_text(r);
    if (rc == CLI_OK && !out) {
        cli_error("report: out of memory");
        rc = CLI_FAIL;
    }
    if (out && (fputs(out, stdout) == EOF || (json && putchar('\n') == EOF) || fflush(stdout) != 0)) {
        cli_error("report: cannot write the summary");
        rc = CLI_FAIL;
    }
    free(out);
    corral_report_free(r);
    return rc;
}
