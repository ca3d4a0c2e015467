/* corral plugins: every plugin file found, and what became of it. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <corral/sandbox_host.h>

#include "cli.h"

static const char *status_name(int s)
{
    return s == CORRAL_PLUGIN_LOADED ? "loaded" : s == CORRAL_PLUGIN_DISABLED ? "disabled" : "refused";
}

static const char *opt_type(int t)
{
    static const char *const names[] = {"?", "string", "int", "bool", "double", "strings"};
    return t >= 1 && t <= 5 ? names[t] : "?";
}

static cJSON *record_json(const struct corral_plugin_record *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "kind", corral_plugin_kind_name(r->kind));
    cJSON_AddStringToObject(o, "status", status_name(r->status));
    cJSON_AddStringToObject(o, "path", r->path);
    if (r->reason)
        cJSON_AddStringToObject(o, "reason", r->reason);
    const struct corral_plugin *d = r->desc;
    if (!d)
        return o;
    cJSON_AddStringToObject(o, "version", d->version);
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", CORRAL_ABI_MAJOR(d->abi_version), CORRAL_ABI_MINOR(d->abi_version));
    cJSON_AddStringToObject(o, "abi", abi);
    if (d->description)
        cJSON_AddStringToObject(o, "description", d->description);
    if (r->kind == CORRAL_PLUGIN_SANDBOX && d->ops) {
        /* which operations the backend has natively and which the host emulates through exec */
        static const char *const how[] = {"none", "native", "emulated"};
        cJSON *ops = cJSON_AddObjectToObject(o, "ops");
        for (int op = 0; op < CORRAL_OP__COUNT; op++)
            cJSON_AddStringToObject(ops, corral_sandbox_op_name(op),
                                    how[corral_sandbox_op_support(d->ops, op)]);
    }
    cJSON *opts = cJSON_AddArrayToObject(o, "options");
    for (size_t i = 0; d->options; i++) {
        const struct corral_option *op =
            (const struct corral_option *)((const char *)d->options + i * d->option_size);
        if (!op->name)
            break;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", op->name);
        cJSON_AddStringToObject(j, "type", opt_type(op->type));
        if (op->default_json)
            cJSON_AddItemToObject(j, "default", cJSON_Parse(op->default_json));
        cJSON_AddBoolToObject(j, "secret_env", (op->flags & CORRAL_OPT_SECRET_ENV) != 0);
        cJSON_AddBoolToObject(j, "required", (op->flags & CORRAL_OPT_REQUIRED) != 0);
        /* Limits exist in options of plugins that speak ABI 1.1 (plugin.h). */
        int ext = CORRAL_ABI_MINOR(d->abi_version) >= 1 &&
                  d->option_size >= offsetof(struct corral_option, max) + sizeof op->max;
        if (ext && (op->flags & CORRAL_OPT_MIN))
            cJSON_AddNumberToObject(j, "min", op->min);
        if (ext && (op->flags & CORRAL_OPT_MAX))
            cJSON_AddNumberToObject(j, "max", op->max);
        if (op->description)
            cJSON_AddStringToObject(j, "description", op->description);
        cJSON_AddItemToArray(opts, j);
    }
    return o;
}

static void help(void)
{
    printf("Usage: corral plugins [--json]\n"
           "\n"
           "Lists every plugin file on the search path with its kind, plugin version, ABI version,\n"
           "path and status: loaded, disabled (by config; never mapped into memory) or refused (with\n"
           "the reason: missing symbol, no acceptable ABI version, bad descriptor, duplicate name,\n"
           "invalid configuration, init failure, unsafe file permissions).\n"
           "\n"
           "  --json   one JSON array, with each plugin's config schema\n"
           "\n"
           "Exit status: 0 when the listing was produced (even with refused plugins), 3 on invalid\n"
           "configuration.\n");
}

int cli_cmd_plugins(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            cli_error("plugins: unknown argument '%s'", argv[i]);
            return CLI_USAGE;
        }
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    size_t n;
    const struct corral_plugin_record *r = corral_plugins(ctx, &n);
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, record_json(&r[i]));
        char *text = cJSON_Print(arr);
        puts(text);
        cJSON_free(text);
        cJSON_Delete(arr);
    } else {
        printf("%-8s %-12s %-9s %-5s %-9s %s\n", "KIND", "NAME", "VERSION", "ABI", "STATUS", "PATH");
        for (size_t i = 0; i < n; i++) {
            char abi[16] = "-";
            if (r[i].desc)
                snprintf(abi, sizeof abi, "%u.%u", CORRAL_ABI_MAJOR(r[i].desc->abi_version),
                         CORRAL_ABI_MINOR(r[i].desc->abi_version));
            printf("%-8s %-12s %-9s %-5s %-9s %s\n", corral_plugin_kind_name(r[i].kind), r[i].name,
                   r[i].desc ? r[i].desc->version : "-", abi, status_name(r[i].status), r[i].path);
            if (r[i].reason)
                printf("         `- %s\n", r[i].reason);
        }
        if (n == 0)
            printf("(no plugin files found; see `corral config check` for the search path)\n");
    }
    corral_close(ctx);
    return CLI_OK;
}
