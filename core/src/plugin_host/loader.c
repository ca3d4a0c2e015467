/*
 * Plugin discovery and loading (docs/plugin-abi.md, "The loader").
 *
 * Files named sandbox_<name>.so / agent_<name>.so are considered in the
 * order of the search path, sorted by name within a directory.  A plugin
 * disabled in config is never dlopen'ed.  Every refusal is one log line
 * naming the file and the reason, and never stops the others from loading.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"

/* ABI majors this host implements, newest first. */
static const uint32_t host_majors[] = {1};

/* The newest minor this host speaks, per major. */
#define HOST_MINOR CORRAL_ABI_MINOR(CORRAL_ABI_CURRENT)

/* The smallest descriptor and ops tables of ABI 1.0 the host accepts. */
#define DESC_MIN_SIZE (offsetof(struct corral_plugin, ops) + sizeof(void *))
#define AGENT_OPS_MIN_SIZE (offsetof(struct corral_agent_ops, spec_json) + sizeof(void *))

/* The version the host speaks to a plugin that answered `v`: its own, or
 * the host's newest minor when the plugin names a newer one. */
static uint32_t negotiated(uint32_t v)
{
    uint32_t minor = CORRAL_ABI_MINOR(v);
    return CORRAL_ABI(CORRAL_ABI_MAJOR(v), minor < HOST_MINOR ? minor : HOST_MINOR);
}

int crl_desc_speaks(const struct corral_plugin *desc, uint32_t minor)
{
    uint32_t v = negotiated(desc->abi_version);
    return CORRAL_ABI_MAJOR(v) == 1 && CORRAL_ABI_MINOR(v) >= minor;
}

size_t crl_desc_state_size(const struct corral_plugin *desc)
{
    return crl_desc_speaks(desc, 1) && CORRAL_HAS_FIELD(desc, state_size) ? desc->state_size : 0;
}

/* init2 (ABI 1.1), read only from a plugin that speaks 1.1. */
static int (*desc_init2(const struct corral_plugin *d))(const struct corral_host *, const corral_config *, void *,
                                                         corral_call *)
{
    return crl_desc_speaks(d, 1) && CORRAL_HAS(d, init2) ? d->init2 : NULL;
}

const char *corral_plugin_kind_name(int kind)
{
    return kind == CORRAL_PLUGIN_SANDBOX ? "sandbox" : kind == CORRAL_PLUGIN_AGENT ? "agent" : "unknown";
}

/* Parse "sandbox_<name>.so" / "agent_<name>.so"; returns the kind or 0. */
static int parse_file_name(const char *fname, char *name, size_t cap)
{
    static const struct {
        const char *prefix;
        int kind;
    } kinds[] = {{"sandbox_", CORRAL_PLUGIN_SANDBOX}, {"agent_", CORRAL_PLUGIN_AGENT}};
    size_t len = strlen(fname);
    if (len < 4 || strcmp(fname + len - 3, ".so") != 0)
        return 0;
    for (size_t i = 0; i < CRL_ARRAY_LEN(kinds); i++) {
        size_t pl = strlen(kinds[i].prefix);
        if (strncmp(fname, kinds[i].prefix, pl) != 0)
            continue;
        size_t nl = len - pl - 3;
        if (nl == 0 || nl >= cap)
            return 0;
        for (size_t j = 0; j < nl; j++) {
            char c = fname[pl + j];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                return 0;
        }
        memcpy(name, fname + pl, nl);
        name[nl] = '\0';
        return kinds[i].kind;
    }
    return 0;
}

/* An earlier record (not `self`) that provides kind/name. */
static struct crl_plugin *find_record(const struct crl_plugins *ps, const struct crl_plugin *self, int kind,
                                      const char *name)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct crl_plugin *p = ps->items[i];
        if (p != self && p->rec.kind == kind && strcmp(p->name, name) == 0 && p->rec.status != CORRAL_PLUGIN_REFUSED)
            return p;
    }
    return NULL;
}

static void refuse(struct crl_plugin *p, const char *fmt, ...) CORRAL_PRINTF(2, 3);
static void refuse(struct crl_plugin *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&p->reason, fmt, ap) < 0)
        p->reason = NULL;
    va_end(ap);
    p->rec.status = CORRAL_PLUGIN_REFUSED;
    corral_log(CORRAL_LOG_WARN, NULL, "refused plugin %s: %s", p->path, p->reason ? p->reason : "?");
    if (p->dl) {
        dlclose(p->dl);
        p->dl = NULL;
    }
}

/* File checks before anything is mapped. */
static int check_file(struct crl_plugin *p)
{
    struct stat st;
    if (lstat(p->path, &st) != 0) {
        refuse(p, "cannot stat: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        refuse(p, "not a regular file%s", S_ISLNK(st.st_mode) ? " (symbolic links are not followed)" : "");
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        refuse(p, "group- or world-writable (mode %04o); fix with chmod go-w", (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        refuse(p, "owned by uid %u, which is neither root nor the current user", (unsigned)st.st_uid);
        return -1;
    }
    return 0;
}

/* Validate a descriptor against the file it came from; returns 0 or
 * writes why. */
static int check_descriptor(const struct crl_plugin *p, const struct corral_plugin *d, char *why, size_t wl)
{
    if (d->struct_size < DESC_MIN_SIZE) {
        snprintf(why, wl, "bad descriptor: struct_size %zu is below ABI 1.0's %zu", d->struct_size,
                 (size_t)DESC_MIN_SIZE);
        return -1;
    }
    uint32_t major = CORRAL_ABI_MAJOR(d->abi_version);
    size_t i;
    for (i = 0; i < CRL_ARRAY_LEN(host_majors); i++)
        if (host_majors[i] == major)
            break;
    if (i == CRL_ARRAY_LEN(host_majors)) {
        snprintf(why, wl, "no acceptable ABI version: the plugin implements %u.%u, this corral supports major %u",
                 major, CORRAL_ABI_MINOR(d->abi_version), host_majors[0]);
        return -1;
    }
    if (d->kind != p->rec.kind) {
        snprintf(why, wl, "bad descriptor: kind %d does not match the file name (%s)", d->kind,
                 corral_plugin_kind_name(p->rec.kind));
        return -1;
    }
    if (!d->name || strcmp(d->name, p->name) != 0) {
        snprintf(why, wl, "bad descriptor: name '%s' does not match the file name ('%s')",
                 d->name ? d->name : "(null)", p->name);
        return -1;
    }
    if (!d->version || !*d->version) {
        snprintf(why, wl, "bad descriptor: no plugin version");
        return -1;
    }
    if (!d->ops) {
        snprintf(why, wl, "bad descriptor: no ops table");
        return -1;
    }
    if (d->kind == CORRAL_PLUGIN_SANDBOX) {
        const struct corral_sandbox_ops *o = d->ops;
        if (o->struct_size < CORRAL_SANDBOX_OPS_MIN_SIZE) {
            snprintf(why, wl, "bad descriptor: sandbox ops table of %zu bytes, below the minimum %zu",
                     o->struct_size, (size_t)CORRAL_SANDBOX_OPS_MIN_SIZE);
            return -1;
        }
        if (!o->create || !o->exec || !o->destroy || !o->close) {
            snprintf(why, wl, "bad descriptor: a mandatory sandbox op (create, exec, destroy, close) is NULL");
            return -1;
        }
    } else {
        const struct corral_agent_ops *o = d->ops;
        if (o->struct_size < AGENT_OPS_MIN_SIZE || !o->spec_json) {
            snprintf(why, wl, "bad descriptor: agent ops table without spec_json");
            return -1;
        }
    }
    if (crl_desc_state_size(d) && CORRAL_HAS(d, init)) {
        snprintf(why, wl, "bad descriptor: a plugin with state_size must use init2, not init");
        return -1;
    }
    return crl_schema_check(d, why, wl) == 0 ? 0 : -1;
}

/* Descriptor fields beyond ABI 1.0's prefix are read only if present (the
 * 1.0 init slot is part of 1.0's full descriptor, not of its minimum). */
static int (*desc_init(const struct corral_plugin *d))(const corral_config *, void **, corral_call *)
{
    return CORRAL_HAS(d, init) ? d->init : NULL;
}

/* Drop what run_init made for a plugin that is refused or unloaded:
 * fini (when init ran), the host-allocated state, the config view. */
static void release_state(struct crl_plugin *p, int call_fini)
{
    const struct corral_plugin *d = p->rec.desc;
    if (call_fini && CORRAL_HAS(d, fini))
        d->fini(p->rec.state);
    free(p->state_block);
    p->state_block = NULL;
    p->rec.state = NULL;
    crl_schema_free(p->cfg);
    p->cfg = NULL;
}

/* Give the plugin its state and run its init: a 1.1 plugin gets a zeroed
 * block of state_size with its bound options filled, then init2(host,
 * ...); a 1.0 plugin gets init(cfg, &state).  Refuses the plugin and
 * returns -1 when init fails. */
static int run_init(struct crl_plugin *p, const struct corral_plugin *d)
{
    size_t size = crl_desc_state_size(d);
    if (size) {
        if (!(p->state_block = calloc(1, size))) {
            release_state(p, 0);
            p->rec.desc = NULL;
            refuse(p, "out of memory for the plugin's state (%zu bytes)", size);
            return -1;
        }
        crl_schema_fill(p->cfg, p->state_block);
        p->rec.state = p->state_block;
    }
    int (*init2)(const struct corral_host *, const corral_config *, void *, corral_call *) = desc_init2(d);
    int (*init)(const corral_config *, void **, corral_call *) = init2 ? NULL : desc_init(d);
    if (!init2 && !init)
        return 0;
    struct corral_call call;
    corral_call_init(&call, 0);
    int r = init2 ? init2(&p->host, p->cfg, p->rec.state, &call) : init(p->cfg, &p->rec.state, &call);
    if (r == 0)
        return 0;
    /* init2's contract: fini still runs on a half-made state; init's: it cleaned up itself. */
    release_state(p, init2 != NULL);
    p->rec.desc = NULL;
    refuse(p, "init failed: %s", call.message[0] ? call.message : corral_strerror(r));
    return -1;
}

static void load_one(struct crl_plugins *ps, struct crl_plugin *p, struct crl_config *cfg)
{
    struct crl_plugin *dup = find_record(ps, p, p->rec.kind, p->name);
    if (dup) {
        refuse(p, "duplicate name: %s '%s' is already provided by %s", corral_plugin_kind_name(p->rec.kind),
               p->name, dup->path);
        return;
    }
    if (!crl_config_plugin_enabled(cfg, p->rec.kind, p->name)) {
        p->rec.status = CORRAL_PLUGIN_DISABLED;
        corral_log(CORRAL_LOG_DEBUG, NULL, "%s: disabled by %s, not loaded", p->path,
                   crl_config_origin(cfg, p->rec.kind, p->name, "enabled"));
        return;
    }
    if (check_file(p) != 0)
        return;
    dlerror();
    p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        const char *e = dlerror();
        refuse(p, "cannot load: %s", e ? e : "unknown dlopen error");
        return;
    }
    corral_plugin_entry_fn entry;
    *(void **)&entry = dlsym(p->dl, CORRAL_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        refuse(p, "missing symbol %s (not a corral plugin?)", CORRAL_PLUGIN_ENTRY_SYMBOL);
        return;
    }
    crl_host_init(&p->host, 0); /* nothing negotiated until the plugin answers */
    struct corral_host_offer offer = {
        .struct_size = sizeof offer,
        .abi_majors = host_majors,
        .n_abi_majors = CRL_ARRAY_LEN(host_majors),
        .host = &p->host,
    };
    const struct corral_plugin *d = entry(&offer);
    if (!d) {
        refuse(p, "declined to load (its entry point returned NULL)");
        return;
    }
    char why[512];
    if (check_descriptor(p, d, why, sizeof why) != 0) {
        refuse(p, "%s", why);
        return;
    }
    p->rec.desc = d;
    p->host.abi_version = negotiated(d->abi_version);
    if (crl_schema_bind(cfg, d, &p->cfg) != 0) {
        p->rec.desc = NULL;
        refuse(p, "invalid configuration (run `corral config check`)");
        return;
    }
    if (run_init(p, d) != 0)
        return;
    if (d->kind == CORRAL_PLUGIN_SANDBOX && !(p->sbx = crl_sandbox_table_new(d->ops))) {
        release_state(p, 1);
        p->rec.desc = NULL;
        refuse(p, "out of memory for its ops table");
        return;
    }
    p->initialized = 1;
    p->rec.status = CORRAL_PLUGIN_LOADED;
    p->rec.host = &p->host;
    corral_log(CORRAL_LOG_DEBUG, NULL, "loaded %s '%s' %s (ABI %u.%u) from %s", corral_plugin_kind_name(d->kind),
               d->name, d->version, CORRAL_ABI_MAJOR(d->abi_version), CORRAL_ABI_MINOR(d->abi_version), p->path);
}

static int add_record(struct crl_plugins *ps, const char *dir, const char *fname, int kind, const char *name)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct crl_plugin **items = realloc(ps->items, cap * sizeof *items);
        if (!items)
            return CORRAL_ENOMEM;
        ps->items = items;
        ps->cap = cap;
    }
    struct crl_plugin *p = calloc(1, sizeof *p);
    if (!p || asprintf(&p->path, "%s/%s", dir, fname) < 0 || !(p->name = strdup(name))) {
        free(p);
        return CORRAL_ENOMEM;
    }
    p->rec.kind = kind;
    snprintf(p->tag, sizeof p->tag, "%s/%s", corral_plugin_kind_name(kind), name);
    ps->items[ps->n++] = p;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void scan_dir(struct crl_plugins *ps, const char *dir, struct crl_config *cfg)
{
    char abs[PATH_MAX];
    if (!realpath(dir, abs)) {
        corral_log(CORRAL_LOG_DEBUG, NULL, "plugin directory %s: %s", dir, strerror(errno));
        return;
    }
    struct dirent **ents = NULL;
    int n = scandir(abs, &ents, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char name[64];
        int kind = parse_file_name(ents[i]->d_name, name, sizeof name);
        if (kind && add_record(ps, abs, ents[i]->d_name, kind, name) == 0)
            load_one(ps, ps->items[ps->n - 1], cfg);
        free(ents[i]);
    }
    free(ents);
}

/* Warn about config sections that name no plugin found on the search path. */
static void warn_orphan_sections(const struct crl_plugins *ps, struct crl_config *cfg)
{
    static const int kinds[] = {CORRAL_PLUGIN_SANDBOX, CORRAL_PLUGIN_AGENT};
    for (size_t k = 0; k < CRL_ARRAY_LEN(kinds); k++) {
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(cfg->merged, corral_plugin_kind_name(kinds[k]));
        const cJSON *sec;
        cJSON_ArrayForEach(sec, all) {
            size_t i;
            for (i = 0; i < ps->n; i++)
                if (ps->items[i]->rec.kind == kinds[k] && strcmp(ps->items[i]->name, sec->string) == 0)
                    break;
            if (i == ps->n)
                crl_buf_addf(&cfg->warnings, "%s: %s.%s configures a plugin that is not installed (no %s_%s.so)\n",
                             crl_config_origin(cfg, kinds[k], sec->string, NULL),
                             corral_plugin_kind_name(kinds[k]), sec->string, corral_plugin_kind_name(kinds[k]),
                             sec->string);
        }
    }
}

const struct crl_sandbox_table *crl_plugins_sandbox_table(const corral_ctx *ctx,
                                                         const struct corral_plugin_record *rec)
{
    const struct crl_plugins *ps = &ctx->plugins;
    if (!ps->recs || rec < ps->recs || rec >= ps->recs + ps->n)
        return NULL;
    return ps->items[rec - ps->recs]->sbx;
}

void crl_plugins_load(struct crl_plugins *ps, const char *const *dirs, struct crl_config *cfg)
{
    for (; dirs && *dirs; dirs++)
        scan_dir(ps, *dirs, cfg);
    warn_orphan_sections(ps, cfg);
    ps->recs = calloc(ps->n ? ps->n : 1, sizeof *ps->recs);
    for (size_t i = 0; ps->recs && i < ps->n; i++) {
        struct crl_plugin *p = ps->items[i];
        p->rec.path = p->path;
        p->rec.name = p->name;
        p->rec.reason = p->reason;
        ps->recs[i] = p->rec;
    }
}

void crl_plugins_unload(struct crl_plugins *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct crl_plugin *p = ps->items[i];
        release_state(p, p->initialized);
        crl_sandbox_table_free(p->sbx);
        if (p->dl)
            dlclose(p->dl);
        free(p->path);
        free(p->name);
        free(p->reason);
        free(p);
    }
    free(ps->items);
    free(ps->recs);
    memset(ps, 0, sizeof *ps);
}
