/* corral view: one self-contained HTML report of results JSONL files (the
 * view library, corral/view.h, over the report library; docs/view.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corral/view.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral view [-o FILE] RESULTS...\n"
           "       corral view [-o FILE] --compare A B\n"
           "\n"
           "Writes one HTML file that shows the results (JSONL files, one result a line, as `corral run`\n"
           "writes them; merged and deduplicated as `corral report` does them): a summary (errors by class and\n"
           "phase, mean reward, pass@k, a reward histogram, time per phase), a task table (sortable,\n"
           "filterable by name, outcome, mean reward and error class) with each task's attempts, and\n"
           "for every rollout its result, setup and verify outputs, agent events and model calls.\n"
           "The file needs nothing but a browser: its style, script and data are inline and its\n"
           "Content-Security-Policy forbids any network access.  Open it with any browser\n"
           "(e.g. `xdg-open report.html`), also after copying it off the machine that made it.\n"
           "Texts past 64 KiB and rollouts past 2 MiB are cut, and the page says so.\n"
           "\n"
           "  -o, --output FILE   write the page to FILE (default report.html; \"-\" for stdout);\n"
           "                      written whole to a temporary file and renamed into place\n"
           "  --compare A B       compare two runs: the page shows B, and per task (by task digest)\n"
           "                      the mean reward and passes of A and B and the reward delta\n"
           "\n"
           "A RESULTS file of \"-\" reads stdin; one holding a single indented result (a lone `corral run`'s)\n"
           "is read whole.  Exit status: 0 written, 1 a file could not be read\n"
           "or holds a line that is not a result, or the page could not be written, 2 bad command line.\n");
}

/* Add one operand to `r`; prints why not. */
static int add_input(corral_report *r, const char *path)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    int st;
    if (strcmp(path, "-") == 0) {
        size_t len = 0;
        char *data = cli_read_stdin(&len);
        st = data ? corral_report_add(r, "stdin", data, len, &call)
                  : corral_call_fail(&call, CORRAL_EIO, "stdin: cannot read");
        free(data);
    } else {
        st = corral_report_add_file(r, path, &call);
    }
    if (st)
        cli_error("view: %s", call.message);
    return st;
}

/* Write data to `out` ("-": stdout) whole: a temporary file beside it,
 * renamed over it once complete. */
static int write_out(const char *out, const char *data, size_t len)
{
    if (strcmp(out, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            cli_error("view: cannot write the page to stdout");
            return -1;
        }
        return 0;
    }
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", out) < 0) {
        cli_error("view: out of memory");
        return -1;
    }
    int fd = mkstemp(tmp);
    mode_t mask = umask(0);
    umask(mask);
    if (fd >= 0)
        (void)fchmod(fd, 0666 & ~mask); /* a page to share, as a plain file would be */
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int bad = !f || fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int err = errno;
    if (f)
        bad |= fclose(f) != 0;
    else if (fd >= 0)
        close(fd);
    if (!bad && rename(tmp, out) != 0)
        bad = 1, err = errno;
    if (bad) {
        cli_error("view: cannot write %s: %s", out, strerror(err));
        if (fd >= 0)
            unlink(tmp);
    }
    free(tmp);
    return bad ? -1 : 0;
}

int cli_cmd_view(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"compare", no_argument, 0, 'C'}, {0, 0, 0, 0}};
    const char *out = "report.html";
    int compare = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'C')
            compare = 1;
        else
            return CLI_USAGE;
    }
    int n = argc - optind;
    if (n == 0 || (compare && n != 2)) {
        cli_error(compare ? "view: --compare takes two results files, A and B (see corral view --help)"
                          : "view: give one or more results files (see corral view --help)");
        return CLI_USAGE;
    }
    corral_report *run = corral_report_new(), *base = compare ? corral_report_new() : NULL;
    int rc = run && (!compare || base) ? CLI_OK : CLI_FAIL;
    if (rc != CLI_OK)
        cli_error("view: out of memory");
    if (compare) {
        if (rc == CLI_OK && (add_input(base, argv[optind]) || add_input(run, argv[optind + 1])))
            rc = CLI_FAIL;
    } else {
        for (int i = optind; rc == CLI_OK && i < argc; i++)
            if (add_input(run, argv[i]))
                rc = CLI_FAIL;
    }
    /* The page's title: the run's file names. */
    struct crl_buf name = {0};
    for (int i = compare ? optind + 1 : optind; i < argc; i++)
        if (crl_buf_puts(&name, i > optind + compare ? ", " : "") || crl_buf_puts(&name, argv[i]))
            rc = CLI_FAIL;
    struct corral_view_options o = {
        .struct_size = sizeof o,
        .run_name = name.p,
        .base = base,
        .base_name = compare ? argv[optind] : NULL,
    };
    char *html = NULL;
    size_t len = 0;
    if (rc == CLI_OK) {
        struct corral_call call;
        corral_call_init(&call, 0);
        if (corral_view_html(run, &o, &html, &len, &call)) {
            cli_error("%s", call.message);
            rc = CLI_FAIL;
        }
    }
    if (rc == CLI_OK && write_out(out, html, len))
        rc = CLI_FAIL;
    if (rc == CLI_OK && strcmp(out, "-") != 0)
        fprintf(stderr, "corral: view: wrote %s (%zu rollouts, %zu bytes)\n", out, corral_report_count(run), len);
    free(html);
    crl_buf_free(&name);
    corral_report_free(run);
    corral_report_free(base);
    return rc;
}
