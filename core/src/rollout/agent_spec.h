/*
 * Declarative agent specs (the JSON an agent plugin hands the host), their
 * templates, event mapping and success judgement.  Keys are documented in
 * docs/plugin-abi.md ("Agent plugins: the spec").
 */
#ifndef CORRAL_AGENT_SPEC_H
#define CORRAL_AGENT_SPEC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct crl_strv;

/* At most this many install.requires commands (one probe's argv). */
#define CRL_AGENT_MAX_REQUIRES 16

struct crl_agent_spec {
    cJSON *root;                  /* owns everything below */
    const char *name;
    int uses_model;               /* 0 when "model": false (no gate) */
    const cJSON *npm;             /* install.npm: packages, or NULL */
    const cJSON *requires;        /* install.requires: commands needed on PATH, or NULL */
    const cJSON *check;           /* install.check: argv, or NULL */
    const char *install_script;   /* install.script: runs inside sandboxes without host mounts */
    const cJSON *files;           /* [{path, text|json}] */
    const cJSON *env;             /* {K: template} */
    const cJSON *argv;            /* [template] */
    const cJSON *events;          /* [{match, emit, fields}] */
    const cJSON *success;         /* {exit_codes, require, fail_on, last} */
    const cJSON *task_files;      /* task subdirectories uploaded to {task} */
    const cJSON *artifacts;       /* accepted for later use; nothing collects artifacts yet */
    const char *prompt;           /* "stdin" | "none" */
    const char *model_key_env;    /* env var through which the agent gets its model key */
    int64_t timeout_s;            /* "timeout_s", or 0 when unset (the rollout plan has the default) */
    /* "auxiliary": which of its model calls are not its main loop
     * (transcript "call_kind", docs/gate.md); all unset: none. */
    int aux_no_tools;             /* "no_tools": true */
    int64_t aux_max_tokens_below; /* "max_tokens_below": N, or 0 */
    const char *aux_system_prefix; /* "system_prefix", or NULL */
    /* "mcp" (agent_mcp.c): how the CLI is told about MCP servers; all unset
     * when the spec declares none (the agent cannot use MCP). */
    const char *mcp_file;         /* "file": path template of the configuration it goes into */
    const char *mcp_key;          /* "key": dotted path (JSON) / table prefix (TOML) of the servers */
    int mcp_toml;                 /* "format": "toml" (else "json") */
    const cJSON *mcp_templates;   /* "servers": {transport: template} */
    const cJSON *mcp_argv;        /* "argv": added to argv when there are servers, or NULL */
};

/* The values templates may use as {name}. */
struct crl_agent_vars {
    const char *home, *workdir, *run, *agent_dir, *base_url, *model, *task;
    const char *gate_url;         /* base_url without its "/v1": the root Anthropic clients append /v1/messages to */
    const char *const *extra;     /* more names and values (pairs, NULL-terminated), or NULL */
};

/* Parse and validate `json`; on failure writes why (naming the key). */
int crl_agent_spec_parse(const char *json, struct crl_agent_spec *out, char *why, size_t wl);
void crl_agent_spec_free(struct crl_agent_spec *s);

/* Substitute {home} {workdir} {run} {agent_dir} {base_url} {gate_url}
 * {model} {task} in tmpl.  "{{" is a literal "{"; a brace not forming {lowercase_name} is
 * literal.  Unknown names fail.  Returns malloc'ed text or NULL (why set). */
char *crl_agent_subst(const char *tmpl, const struct crl_agent_vars *v, char *why, size_t wl);
/* Deep copy of a JSON template with substitution in keys and strings. */
cJSON *crl_agent_subst_json(const cJSON *tmpl, const struct crl_agent_vars *v, char *why, size_t wl);
/* A string leaf's own value for crl_agent_subst_json_with(): a new JSON
 * value (the copy takes it), &crl_agent_omit to leave the member out, or
 * NULL to substitute the string as text. */
typedef cJSON *(*crl_agent_leaf_fn)(const cJSON *leaf, void *ctx);
extern cJSON crl_agent_omit;
/* crl_agent_subst_json() with `leaf` (NULL: none) asked first for every
 * string value.  Returns a new tree (the caller's) or NULL (why set). */
cJSON *crl_agent_subst_json_with(const cJSON *tmpl, const struct crl_agent_vars *v, crl_agent_leaf_fn leaf, void *ctx,
                                 char *why, size_t wl);

/* The spec's "mcp" object m (NULL: none) into s's mcp_* fields, every
 * template checked; 0, or -1 with why set.  Called by crl_agent_spec_parse. */
int crl_agent_mcp_parse(const cJSON *m, struct crl_agent_spec *s, char *why, size_t wl);
/* Whether the agent can use every server of `servers` (the task's
 * normalized array, docs/harbor.md "MCP servers"): 0, or -1 with why
 * ("agent pi cannot use MCP servers ...").  An agent without a model (the
 * oracle) ignores them: 0. */
int crl_agent_mcp_check(const struct crl_agent_spec *s, const cJSON *servers, char *why, size_t wl);
/* The servers rendered through the spec's per-transport templates, as
 * the object {name: entry} the CLI's configuration holds; caller frees.
 * NULL with why on failure. */
cJSON *crl_agent_mcp_render(const struct crl_agent_spec *s, const cJSON *servers, const struct crl_agent_vars *v,
                            char *why, size_t wl);
/* The MCP servers a rollout's agent is told about, as a normalized array
 * the caller frees: the task's (task_servers, its JSON text, or NULL) and,
 * when gate_url is set (the caller passes it only when a trainer owns the
 * model), the gate's own server "corral" at gate_url + "/mcp" with
 * "Authorization: Bearer <token>" (the rollout's model key; it goes into
 * the agent's configuration file, never argv; docs/harbor.md, "MCP
 * servers"), if the spec has a streamable-http template. */
#define CRL_MCP_GATE_SERVER "corral"
cJSON *crl_agent_mcp_list(const struct crl_agent_spec *s, const char *task_servers, const char *gate_url,
                          const char *token);
/* Every file the agent gets: the spec's "files" rendered with v and, when
 * `servers` (a normalized array, or NULL) is not empty and the agent
 * calls a model, the rendered MCP
 * servers merged into the "mcp" file (a JSON document's key, or TOML
 * tables appended), or written as a file of its own when no "files" entry
 * has that path.  Appends paths and bodies (same order) to the caller's
 * vectors; 0, or -1 with why. */
int crl_agent_files(const struct crl_agent_spec *s, const struct crl_agent_vars *v, const cJSON *servers,
                    struct crl_strv *paths, struct crl_strv *bodies, char *why, size_t wl);

/* The value at a dotted path ("message.content.0.text"), or NULL. */
const cJSON *crl_json_path(const cJSON *root, const char *path);

/* Map one stdout line to a normalized event {"kind", ...fields}, or NULL
 * when no rule matches (or the line is not JSON). */
cJSON *crl_agent_event(const struct crl_agent_spec *s, const char *line, size_t len);

/* Judge the run: 1 success, 0 failure (why says which rule failed). */
int crl_agent_judge(const struct crl_agent_spec *s, int exit_code, const cJSON *events, char *why, size_t wl);

#endif
