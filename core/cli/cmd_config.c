/* corral config check: validate every configuration layer and print the
 * effective configuration with secrets redacted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral config check [--json]\n"
           "\n"
           "Reads every configuration file (see corral --help for the order), loads the plugins and\n"
           "checks each plugin's section against the schema the plugin declares: unknown keys (the\n"
           "message lists the valid ones), wrong types (the message names the key and the file), and\n"
           "secrets written as values instead of environment-variable names.  Prints the effective\n"
           "configuration with defaults applied and secrets redacted.\n"
           "\n"
           "  --json   print {\"ok\", \"errors\", \"warnings\", \"effective\"} as one JSON object\n"
           "\n"
           "Exit status: 0 valid, 3 invalid configuration, 2 bad command line.\n");
}

static cJSON *lines_array(const char *text)
{
    cJSON *a = cJSON_CreateArray();
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        cJSON_AddItemToArray(a, cJSON_CreateString(line));
        free(line);
        p = nl ? nl + 1 : NULL;
    }
    return a;
}

int cli_cmd_config(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        help();
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "check") != 0) {
        cli_error("config: unknown action '%s' (only 'check')", argv[1]);
        return CLI_USAGE;
    }
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            cli_error("config check: unknown argument '%s'", argv[i]);
            return CLI_USAGE;
        }
    }
    struct corral_options o = {
        .struct_size = sizeof o,
        .config_file = cli_globals.config_file,
        .plugin_dirs = cli_globals.plugin_dirs[0] ? cli_globals.plugin_dirs : NULL,
        .log_level = cli_globals.verbose ? "info" : "error",
    };
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_ctx *ctx = NULL;
    int r = corral_open(&o, &ctx, &call);
    if (!ctx) {
        cli_error("%s", call.message);
        return CLI_FAIL;
    }
    const char *errors = corral_config_errors(ctx);
    const char *warnings = corral_config_warnings(ctx);
    char *dump = corral_config_dump(ctx);
    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddBoolToObject(root, "ok", r == 0);
        cJSON_AddItemToObject(root, "errors", lines_array(errors));
        cJSON_AddItemToObject(root, "warnings", lines_array(warnings));
        cJSON_AddItemToObject(root, "effective", cJSON_Parse(dump));
        char *text = cJSON_Print(root);
        puts(text);
        cJSON_free(text);
        cJSON_Delete(root);
    } else {
        puts(dump);
        if (*warnings)
            fprintf(stderr, "%s", warnings);
        if (*errors)
            fprintf(stderr, "%s", errors);
        fprintf(stderr, "corral: configuration %s\n", r == 0 ? "is valid" : "has errors");
    }
    free(dump);
    corral_close(ctx);
    return r == 0 ? CLI_OK : CLI_CONFIG;
}
