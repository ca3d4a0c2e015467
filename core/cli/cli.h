/*
 * The corral CLI: shared declarations for the subcommand files.
 *
 * Each subcommand lives in core/cli/cmd_<name>.c and exports one
 * `int cli_cmd_<name>(int argc, char **argv)` (argv[0] is the subcommand's
 * name), listed in the table in main.c.  Subcommands print their own
 * --help, open the context with cli_open(), and return an exit code below.
 */
#ifndef CORRAL_CLI_H
#define CORRAL_CLI_H

#include <stdint.h>

#include <corral/corral.h>

#include "crl_common.h"

/* Exit codes of every subcommand (documented in `corral --help`).
 * `corral sandbox exec` instead exits with the command's own status. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,       /* the operation failed */
    CLI_USAGE = 2,      /* bad command line */
    CLI_CONFIG = 3,     /* configuration invalid */
    CLI_UNAVAILABLE = 4 /* a needed plugin or backend is missing/refused */
};

/* Global options given before the subcommand (owned by main.c). */
struct cli_globals {
    const char *config_file;        /* --config FILE */
    const char *plugin_dirs[16];    /* --plugin-dir DIR (repeatable), NULL-terminated */
    int verbose;                    /* -v count */
    int quiet;                      /* -q */
};
extern struct cli_globals cli_globals;

/* Open the context with the global options.  On failure prints the reason
 * and returns NULL with *exit_code set (CLI_CONFIG or CLI_FAIL).  Refused
 * plugins are reported as warnings and do not fail this. */
corral_ctx *cli_open(int *exit_code);

/* True when argv[1..] contains -h or --help before any "--". */
int cli_wants_help(int argc, char **argv);

/* A command whose one option is --json and that needs operands (report,
 * task check): sets *json and returns the index of the first operand; on
 * an unknown option (getopt said why) or no operand (prints `missing`)
 * returns -1 and the caller exits with CLI_USAGE. */
int cli_json_operands(int argc, char **argv, const char *missing, int *json);

/* All of stdin, malloc'ed and NUL-terminated (the caller frees), its
 * length in *len; NULL when it cannot be read or memory ran out. */
char *cli_read_stdin(size_t *len);

/* Print "corral: <msg>" to stderr. */
void cli_error(const char *fmt, ...) CORRAL_PRINTF(1, 2);

/* Every number on the command line goes through one of these two: the
 * whole of text, plain decimal, from min to max, into *out.  On anything
 * else they print an error naming the option and return -1 (the caller
 * exits with CLI_USAGE). */
int cli_int_arg(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out);
int cli_decimal_arg(const char *opt, const char *text, double min, double max, double *out);
/* The bound of options counted in seconds (7 days, as task files'). */
#define CLI_MAX_SECONDS CRL_MAX_TIMEOUT_S

/* A secret: FILE's content (trailing whitespace removed; a missing FILE
 * is created with 32 random bytes in hex, mode 0600), else $env, else
 * NULL.  Malloc'ed: the caller frees it with crl_wipe_free(). */
char *cli_secret_from(const char *file, const char *env);

#endif
