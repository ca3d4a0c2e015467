/* corral: the command-line entry point and the subcommand table. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crl_common.h"

struct cli_globals cli_globals;

int cli_cmd_plugins(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_sandbox(int argc, char **argv);
int cli_cmd_gc(int argc, char **argv);
int cli_cmd_gate(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
int cli_cmd_report(int argc, char **argv);
int cli_cmd_task(int argc, char **argv);
int cli_cmd_view(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);
int cli_cmd_image(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cli_cmd_run, "run one rollout: an agent on a task in a sandbox, scored; prints RolloutResult JSON"},
    {"report", cli_cmd_report, "summarize results JSONL files: merge shards, errors, rewards, pass@k, timings"},
    {"view", cli_cmd_view, "write one self-contained HTML report of results JSONL files (open it in a browser)"},
    {"export", cli_cmd_export, "convert results JSONL files to ATIF trajectories (Harbor's format), one file each"},
    {"task", cli_cmd_task, "start a Harbor-format task (init) or check task directories before running them"},
    {"plugins", cli_cmd_plugins, "list plugin files found: loaded, disabled or refused (and why)"},
    {"config", cli_cmd_config, "check and print the effective configuration (secrets redacted)"},
    {"sandbox", cli_cmd_sandbox, "create, exec in, copy, persist/hydrate, list and remove sandboxes"},
    {"image", cli_cmd_image, "pull, list and remove container images in corral's image cache"},
    {"gc", cli_cmd_gc, "remove sandboxes past their deadline on every loaded backend"},
    {"gate", cli_cmd_gate, "run the model-call gate standalone for a trainer (corral gate serve)"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: corral [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
            "\n"
            "Runs coding agents in pluggable sandboxes, scores their work and gates their model calls.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "Global options:\n"
            "  --config FILE       read FILE after the standard configuration files (it wins per key)\n"
            "  --plugin-dir DIR    search DIR for plugins first (repeatable)\n"
            "  -v, --verbose       more log output (repeat for debug)\n"
            "  -q, --quiet         only errors\n"
            "  -h, --help          this help; `corral COMMAND --help` for a command's\n"
            "  --version           print the version\n"
            "\n"
            "Configuration files, later wins per key: $CORRAL_CONFIG_DIR (default /etc/corral)/corral.json,\n"
            "$CORRAL_CONFIG_DIR/conf.d/*.json (lexical order), $XDG_CONFIG_HOME/corral/config.json, --config FILE.\n"
            "Plugin search path: --plugin-dir, config plugin_dirs, $CORRAL_PLUGIN_PATH (colon-separated),\n"
            "then %s.\n"
            "\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  the operation failed\n"
            "  2  bad command line\n"
            "  3  invalid configuration\n"
            "  4  a needed plugin or backend is missing or refused\n",
            CORRAL_PLUGIN_DIR_HINT);
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int cli_json_operands(int argc, char **argv, const char *missing, int *json)
{
    static const struct option longopts[] = {{"json", no_argument, 0, 'J'}, {0, 0, 0, 0}};
    int c;
    *json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 'J')
            return -1;
        *json = 1;
    }
    if (optind == argc) {
        cli_error("%s", missing);
        return -1;
    }
    return optind;
}

char *cli_read_stdin(size_t *len)
{
    struct crl_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        if (crl_buf_add(&b, chunk, n)) {
            crl_buf_free(&b);
            return NULL;
        }
    }
    *len = b.len;
    if (ferror(stdin) || (!b.p && !(b.p = calloc(1, 1)))) {
        crl_buf_free(&b);
        return NULL;
    }
    return b.p;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("corral: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_int_arg(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (crl_parse_i64(text, min, max, out) == 0)
        return 0;
    cli_error("%s wants a number from %lld to %lld, got '%s'", opt, (long long)min, (long long)max, text);
    return -1;
}

int cli_decimal_arg(const char *opt, const char *text, double min, double max, double *out)
{
    if (crl_parse_decimal(text, min, max, out) == 0)
        return 0;
    cli_error("%s wants a decimal number from %g to %g, got '%s'", opt, min, max, text);
    return -1;
}

static const char *log_level_name(void)
{
    if (cli_globals.quiet)
        return "error";
    if (cli_globals.verbose >= 2)
        return "debug";
    if (cli_globals.verbose == 1)
        return "info";
    return NULL; /* from config, default warn */
}

corral_ctx *cli_open(int *exit_code)
{
    struct corral_options o = {
        .struct_size = sizeof o,
        .config_file = cli_globals.config_file,
        .plugin_dirs = cli_globals.plugin_dirs[0] ? cli_globals.plugin_dirs : NULL,
        .log_level = log_level_name(),
    };
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_ctx *ctx = NULL;
    int r = corral_open(&o, &ctx, &call);
    if (r != 0) {
        fprintf(stderr, "corral: %s", call.message);
        if (call.message[0] && call.message[strlen(call.message) - 1] != '\n')
            fputc('\n', stderr);
        corral_close(ctx);
        *exit_code = r == CORRAL_ECONFIG ? CLI_CONFIG : CLI_FAIL;
        return NULL;
    }
    *exit_code = CLI_OK;
    return ctx;
}

int main(int argc, char **argv)
{
    int i = 1;
    size_t ndirs = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0) {
            printf("corral %s (plugin ABI %u.%u)\n", CORRAL_VERSION, CORRAL_ABI_MAJOR(CORRAL_ABI_CURRENT),
                   CORRAL_ABI_MINOR(CORRAL_ABI_CURRENT));
            return CLI_OK;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cli_globals.verbose++;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli_globals.quiet = 1;
        } else if ((strcmp(a, "--config") == 0 || strcmp(a, "--plugin-dir") == 0) && i + 1 < argc) {
            if (a[2] == 'c') {
                cli_globals.config_file = argv[++i];
            } else if (ndirs + 1 < sizeof cli_globals.plugin_dirs / sizeof cli_globals.plugin_dirs[0]) {
                cli_globals.plugin_dirs[ndirs++] = argv[++i];
            } else {
                cli_error("too many --plugin-dir options");
                return CLI_USAGE;
            }
        } else {
            cli_error("unknown or incomplete option '%s' (see corral --help)", a);
            return CLI_USAGE;
        }
    }
    if (i == argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(commands[c].name, argv[i]) == 0)
            return commands[c].run(argc - i, argv + i);
    cli_error("unknown command '%s' (see corral --help)", argv[i]);
    return CLI_USAGE;
}
