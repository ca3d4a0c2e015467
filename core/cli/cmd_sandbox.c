/* corral sandbox: create, exec in, copy to/from, persist, hydrate, list,
 * pause, resume and remove sandboxes on any loaded backend. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <corral/rollout.h>
#include <corral/sandbox_host.h>

#include "cli.h"
#include "crl_common.h"

/* `corral sandbox exec` reports its own failures with this status, so they
 * never look like the command's own exit code (same convention as docker). */
#define EXEC_SELF_FAIL 125

/* ---- helpers ---- */

/* The --env and --label lists: crl_strv, wiped when freed (env values may
 * be secrets); handed on as NULL when empty, as before. */
static void strlist_free(struct crl_strv *l)
{
    crl_strv_wipe_array(l->v);
    *l = (struct crl_strv){0};
}

/* --env K=V or --env K (value from corral's own environment). */
static int add_env(struct crl_strv *env, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *entry;
    if (eq) {
        entry = strdup(arg);
    } else {
        if (!corral_env_name_valid(arg)) {
            cli_error("--env %s: not a valid variable name (want ^[A-Za-z_][A-Za-z0-9_]*$)", arg);
            return -1;
        }
        const char *v = getenv(arg);
        if (!v) {
            cli_error("--env %s: %s is not set in corral's environment", arg, arg);
            return -1;
        }
        if (asprintf(&entry, "%s=%s", arg, v) < 0)
            entry = NULL;
    }
    if (!entry || !corral_env_entry_valid(entry)) {
        int nl = eq ? (int)(eq - arg) : (int)strlen(arg);
        cli_error("--env %.*s: want NAME=VALUE or NAME, NAME matching ^[A-Za-z_][A-Za-z0-9_]*$", nl, arg);
        crl_wipe_free(entry);
        return -1;
    }
    int rc = crl_strv_push(env, entry);
    crl_wipe_free(entry);
    return rc ? -1 : 0;
}

static int status_exit(int rc)
{
    return rc == CORRAL_ECONFIG ? CLI_CONFIG : CLI_FAIL;
}

static int report(int rc, const struct corral_call *call)
{
    cli_error("%s", call->message[0] ? call->message : corral_strerror(rc));
    return status_exit(rc);
}

/* Reattach to id.  *gone (may be NULL) is set when the backend says the
 * sandbox no longer exists (the registry entry is stale). */
static int attach_ex(corral_ctx *ctx, const char *id, corral_sandbox **sb, int *gone)
{
    if (gone)
        *gone = 0;
    struct corral_call call;
    corral_call_init(&call, 120000);
    if (!corral_sandbox_id_valid(id)) {
        cli_error("'%s' is not a sandbox id (want <backend>-<16 hex digits>; see `corral sandbox ls`)", id);
        return CLI_USAGE;
    }
    char *backend = NULL;
    if (corral_registry_get(id, &backend, NULL, NULL, &call) != 0) {
        cli_error("no sandbox %s known here (see `corral sandbox ls`)", id);
        return CLI_FAIL;
    }
    int loaded = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, backend) != NULL;
    if (!loaded)
        cli_error("sandbox %s belongs to the %s backend, which is not loaded (see `corral plugins`)", id, backend);
    free(backend);
    if (!loaded)
        return CLI_UNAVAILABLE;
    int rc = corral_sandbox_attach(ctx, id, sb, &call);
    if (rc == CORRAL_ENOTFOUND) {
        if (gone)
            *gone = 1;
        else
            cli_error("sandbox %s is gone: %s", id, call.message);
        return CLI_FAIL;
    }
    if (rc)
        return report(rc, &call);
    return CLI_OK;
}

static int attach(corral_ctx *ctx, const char *id, corral_sandbox **sb)
{
    return attach_ex(ctx, id, sb, NULL);
}

/* ---- create ---- */

static void help_create(void)
{
    printf("Usage: corral sandbox create --backend NAME [OPTIONS]\n"
           "\n"
           "Creates a sandbox and prints its id (<backend>-<16 hex>).  The sandbox stays until\n"
           "`corral sandbox rm ID`, or until `corral gc` finds it past its deadline (now + --ttl).\n"
           "It is recorded in the local registry so later `corral sandbox ...` calls find it.\n"
           "\n"
           "  --backend NAME         sandbox plugin to use (see `corral plugins`)\n"
           "  --image IMAGE          image or template (backend default if omitted)\n"
           "  --ttl SECONDS          lifetime; default %d\n"
           "  --label KEY=VALUE      extra label (repeatable); keys [A-Za-z0-9][A-Za-z0-9._/-]*,\n"
           "                         not starting with corral.; values [A-Za-z0-9._:@/+,-]*\n"
           "  --env NAME             default env var for every exec, value taken from corral's\n"
           "                         environment (repeatable).  Use this form for secrets.\n"
           "  --env NAME=VALUE       the same with the value on the command line (visible in ps)\n"
           "  --workdir DIR          working directory inside (backend default: /workspace); not /,\n"
           "                         a system directory (/proc, /etc, /usr, ...) or a path with ..\n"
           "  --user USER            user inside (backend default)\n"
           "  --cpus N               CPU limit (fractional allowed)\n"
           "  --memory BYTES         memory limit in bytes (4 MiB to 16 TiB)\n"
           "  --network none|full    network access; default none\n"
           "  --egress FILE          an egress policy (JSON, docs/egress.md) instead of --network:\n"
           "                         on local and docker the sandbox gets no network and each\n"
           "                         `corral sandbox exec` runs corral's proxy for its command\n"
           "                         (the agent phase's rules); a backend with its own egress\n"
           "                         rules gets the policy now; other backends refuse it\n"
           "  --rollout ID           value of the corral.rollout label\n"
           "\n"
           "Exit status: 0 created (id on stdout), 1 failed, 2 bad usage, 4 backend not loaded.\n",
           CORRAL_SANDBOX_DEFAULT_TTL_S);
}

static int cmd_create(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help_create();
        return CLI_OK;
    }
    struct corral_sandbox_spec spec = { .struct_size = sizeof spec, .network = CORRAL_NET_NONE };
    struct corral_sandbox_create_opts opts = { .struct_size = sizeof opts };
    struct crl_strv env = {0}, labels = {0};
    const char *egress = NULL;
    int network_given = 0;
    int rc = CLI_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            cli_error("sandbox create: '%s' needs a value or is unknown (see --help)", a);
            goto out;
        }
        i++;
        if (!strcmp(a, "--backend")) {
            opts.backend = v;
        } else if (!strcmp(a, "--image")) {
            spec.image = v;
        } else if (!strcmp(a, "--ttl")) {
            if (cli_int_arg("--ttl", v, 1, CLI_MAX_SECONDS, &spec.ttl_s))
                goto out;
        } else if (!strcmp(a, "--label")) {
            if (!corral_label_valid(v, 0)) {
                cli_error("--label %s: want KEY=VALUE, key [A-Za-z0-9][A-Za-z0-9._/-]* (not corral.*), "
                          "value [A-Za-z0-9._:@/+,-]*", v);
                goto out;
            }
            crl_strv_push(&labels, v);
        } else if (!strcmp(a, "--env")) {
            if (add_env(&env, v))
                goto out;
        } else if (!strcmp(a, "--workdir")) {
            /* The same rule as a task's "workdir". */
            const char *why = crl_workdir_refusal(v);
            if (why) {
                cli_error("sandbox create: --workdir %.*s%s %s", 200, v, strlen(v) > 200 ? "..." : "", why);
                goto out;
            }
            spec.workdir = v;
        } else if (!strcmp(a, "--user")) {
            spec.user = v;
        } else if (!strcmp(a, "--cpus")) {
            if (cli_decimal_arg("--cpus", v, 0, 65536, &spec.cpus))
                goto out;
        } else if (!strcmp(a, "--memory")) {
            if (cli_int_arg("--memory", v, (int64_t)4 << 20, (int64_t)1 << 44, &spec.memory_bytes))
                goto out;
        } else if (!strcmp(a, "--egress")) {
            egress = v;
        } else if (!strcmp(a, "--network")) {
            network_given = 1;
            if (!strcmp(v, "none"))
                spec.network = CORRAL_NET_NONE;
            else if (!strcmp(v, "full"))
                spec.network = CORRAL_NET_FULL;
            else {
                cli_error("--network %s: want none or full", v);
                goto out;
            }
        } else if (!strcmp(a, "--rollout")) {
            char rl[320];
            snprintf(rl, sizeof rl, "corral.rollout=%s", v);
            if (strlen(v) > 256 || !corral_label_valid(rl, 1)) {
                cli_error("--rollout %s: want [A-Za-z0-9._:@/+,-]*", v);
                goto out;
            }
            opts.rollout = v;
        } else {
            cli_error("sandbox create: unknown option '%s' (see --help)", a);
            goto out;
        }
    }
    if (!opts.backend) {
        cli_error("sandbox create: --backend NAME is required (see `corral plugins`)");
        goto out;
    }
    if (egress && network_given) {
        cli_error("sandbox create: --egress and --network exclude each other (the policy decides the network)");
        goto out;
    }
    spec.env = (const char *const *)env.v;
    spec.labels = (const char *const *)labels.v;
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx) {
        rc = code;
        goto out;
    }
    if (!corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, opts.backend)) {
        cli_error("sandbox backend '%s' is not loaded (see `corral plugins`)", opts.backend);
        corral_close(ctx);
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    struct corral_call call;
    corral_call_init(&call, 600000);
    corral_sandbox *sb = NULL;
    int r = egress ? corral_sandbox_create_egress(ctx, &opts, &spec, egress, &sb, &call)
                   : corral_sandbox_create(ctx, &opts, &spec, &sb, &call);
    if (r) {
        /* The command line was checked above: what the backend refuses now
         * (a server's 400 says EINVAL too) is a failure, not bad usage. */
        rc = report(r, &call);
    } else {
        printf("%s\n", corral_sandbox_id(sb));
        corral_sandbox_close(sb);
        rc = CLI_OK;
    }
    corral_close(ctx);
out:
    strlist_free(&env);
    strlist_free(&labels);
    return rc;
}

/* ---- exec ---- */

static void help_exec(void)
{
    printf("Usage: corral sandbox exec [OPTIONS] ID -- COMMAND [ARG...]\n"
           "\n"
           "Runs COMMAND inside sandbox ID (no shell unless --shell), streaming its stdout and\n"
           "stderr, and exits with its exit status.\n"
           "\n"
           "  --timeout SECONDS   kill the command's whole process group after this long; the\n"
           "                      exit status is then 124\n"
           "  --cwd DIR           working directory inside (default: the sandbox's)\n"
           "  --env NAME          set NAME to its value in corral's environment (repeatable).\n"
           "                      Use this form for secrets: the value never appears in argv.\n"
           "  --env NAME=VALUE    set NAME to VALUE (the value is visible in ps on this host)\n"
           "  --shell             run the words after -- joined by spaces with /bin/sh -c\n"
           "  -i, --stdin         feed corral's stdin to the command (read fully first, max 256 MiB)\n"
           "\n"
           "Exit status: the command's (128+N when killed by signal N), 124 on timeout, 125 when\n"
           "corral could not run it (unknown id, bad usage, backend failure).\n");
}

static volatile int saw_epipe;

static int write_fd(void *ud, const void *buf, size_t len)
{
    int fd = *(int *)ud;
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EPIPE)
            saw_epipe = 1;
        if (n <= 0)
            return CORRAL_EIO; /* stops the command instead of feeding a closed pipe */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_stdin(char **data, size_t *len)
{
    size_t cap = 65536, n = 0, max = (size_t)256 << 20;
    char *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(b);
                cli_error("sandbox exec: stdin is larger than 256 MiB");
                return -1;
            }
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
        }
        ssize_t r = read(0, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(b);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *data = b;
    *len = n;
    return 0;
}

static int cmd_exec(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help_exec();
        return CLI_OK;
    }
    struct crl_strv env = {0};
    double timeout = 0;
    const char *cwd = NULL, *id = NULL;
    int shell = 0, use_stdin = 0, i, rc = EXEC_SELF_FAIL;
    char *stdin_data = NULL, *shell_str = NULL;
    size_t stdin_len = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "--shell")) {
            shell = 1;
        } else if (!strcmp(a, "-i") || !strcmp(a, "--stdin")) {
            use_stdin = 1;
        } else if (!strcmp(a, "--timeout") && v) {
            if (cli_decimal_arg("--timeout", v, 0, CLI_MAX_SECONDS, &timeout))
                goto out;
            i++;
        } else if (!strcmp(a, "--cwd") && v) {
            cwd = v;
            i++;
        } else if (!strcmp(a, "--env") && v) {
            if (add_env(&env, v))
                goto out;
            i++;
        } else if (a[0] == '-') {
            cli_error("sandbox exec: unknown or incomplete option '%s' (see --help)", a);
            goto out;
        } else if (!id) {
            id = a;
        } else {
            cli_error("sandbox exec: put the command after --: corral sandbox exec %s -- %s ...", id, a);
            goto out;
        }
    }
    if (!id || i >= argc) {
        cli_error("usage: corral sandbox exec [OPTIONS] ID -- COMMAND [ARG...] (see --help)");
        goto out;
    }
    if (shell) {
        size_t len = 1;
        for (int k = i; k < argc; k++)
            len += strlen(argv[k]) + 1;
        shell_str = calloc(1, len);
        for (int k = i; shell_str && k < argc; k++) {
            if (k > i)
                strcat(shell_str, " ");
            strcat(shell_str, argv[k]);
        }
    }
    if (use_stdin && read_stdin(&stdin_data, &stdin_len))
        goto out;
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        goto out;
    corral_sandbox *sb = NULL;
    /* A reader that goes away (`| head`) ends the command through a sink
     * error, like SIGPIPE would end a local one. */
    signal(SIGPIPE, SIG_IGN);
    if (attach(ctx, id, &sb) == CLI_OK) {
        int ofd = 1, efd = 2;
        struct corral_sink so = { .struct_size = sizeof so, .write = write_fd, .ud = &ofd };
        struct corral_sink se = { .struct_size = sizeof se, .write = write_fd, .ud = &efd };
        /* a sandbox made with --egress: corral's proxy for this command */
        corral_egress_session *eg = NULL;
        struct corral_call ec;
        corral_call_init(&ec, 60000);
        if (corral_egress_session_open(sb, &eg, &ec) != 0) {
            cli_error("sandbox exec: egress proxy: %s", ec.message);
            corral_sandbox_close(sb);
            corral_close(ctx);
            goto out;
        }
        for (const char *const *e = corral_egress_session_env(eg); e && *e; e++)
            crl_strv_push(&env, *e);
        struct corral_exec_request req = {
            .struct_size = sizeof req, .argv = shell ? NULL : (const char *const *)(argv + i), .shell = shell_str,
            .cwd = cwd, .env = (const char *const *)env.v, .stdin_data = stdin_data, .stdin_len = stdin_len,
            .timeout_ms = (int64_t)(timeout * 1000), .out = &so, .err = &se,
        };
        struct corral_exec_result res;
        struct corral_call call;
        /* the call's own deadline leaves the sandbox time to report the timeout */
        corral_call_init(&call, timeout > 0 ? (int64_t)(timeout * 1000) + 120000 : 0);
        int r = corral_sandbox_exec(sb, &req, &res, &call);
        if (r && saw_epipe) {
            rc = 128 + SIGPIPE; /* the output's reader went away, as for a local command */
        } else if (r) {
            cli_error("sandbox exec: %s", call.message[0] ? call.message : corral_strerror(r));
        } else {
            rc = res.timed_out ? 124 : res.exit_code;
            if (res.timed_out)
                cli_error("sandbox exec: timed out after %g s; the command's process group was killed", timeout);
        }
        corral_egress_session_close(eg);
        corral_sandbox_close(sb);
    }
    corral_close(ctx);
out:
    free(stdin_data);
    free(shell_str);
    strlist_free(&env);
    return rc;
}

/* ---- cp ---- */

static void help_cp(void)
{
    printf("Usage: corral sandbox cp SRC DST\n"
           "\n"
           "Copies a file between this host and a sandbox.  Exactly one side is ID:/absolute/path.\n"
           "  corral sandbox cp ID:/workspace/out.txt ./out.txt    from the sandbox (DST - = stdout)\n"
           "  corral sandbox cp ./in.txt ID:/workspace/in.txt      to the sandbox (parents created,\n"
           "                                                       mode copied; SRC - = stdin)\n"
           "A host directory as SRC is copied recursively (as `corral sandbox hydrate`); to fetch a\n"
           "directory use `corral sandbox persist`.  An existing host directory as DST receives the\n"
           "file under its own name.\n"
           "\n"
           "Exit status: 0 copied, 1 failed (no such file, unknown id), 2 bad usage.\n");
}

/* "ID:/path" -> id copied to idbuf, returns the path; else NULL. */
static const char *split_remote(const char *s, char *idbuf, size_t cap)
{
    const char *c = strchr(s, ':');
    if (!c || (size_t)(c - s) >= cap)
        return NULL;
    memcpy(idbuf, s, (size_t)(c - s));
    idbuf[c - s] = '\0';
    return corral_sandbox_id_valid(idbuf) ? c + 1 : NULL;
}

struct fd_src { int fd; };

static long fd_read(void *ud, void *buf, size_t cap)
{
    struct fd_src *s = ud;
    for (;;) {
        ssize_t n = read(s->fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? CORRAL_EIO : (long)n;
    }
}

static int cmd_cp(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help_cp();
        return CLI_OK;
    }
    if (argc != 3) {
        cli_error("usage: corral sandbox cp SRC DST (one side ID:/path; see --help)");
        return CLI_USAGE;
    }
    char sid[96], did[96];
    const char *spath = split_remote(argv[1], sid, sizeof sid);
    const char *dpath = split_remote(argv[2], did, sizeof did);
    if (!!spath == !!dpath) {
        cli_error("sandbox cp: exactly one of SRC and DST must be ID:/path");
        return CLI_USAGE;
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    corral_sandbox *sb = NULL;
    int rc = attach(ctx, spath ? sid : did, &sb);
    if (rc) {
        corral_close(ctx);
        return rc;
    }
    struct corral_call call;
    corral_call_init(&call, 0);
    int r = 0;
    if (spath) {
        /* sandbox -> host */
        const char *dst = argv[2];
        char full[PATH_MAX];
        struct stat st;
        if (strcmp(dst, "-") != 0 && stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
            const char *base = strrchr(spath, '/');
            snprintf(full, sizeof full, "%s/%s", dst, base ? base + 1 : spath);
            dst = full;
        }
        int fd = strcmp(dst, "-") == 0 ? 1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            cli_error("sandbox cp: %s: %s", dst, strerror(errno));
            rc = CLI_FAIL;
        } else {
            struct corral_sink sink = { .struct_size = sizeof sink, .write = write_fd, .ud = &fd };
            r = corral_sandbox_read_file(sb, spath, &sink, &call);
            if (fd != 1 && close(fd) != 0 && !r)
                r = corral_call_fail(&call, CORRAL_EIO, "%s: %s", dst, strerror(errno));
            if (r && fd != 1)
                unlink(dst);
        }
    } else {
        const char *src = argv[1];
        struct stat st = { .st_mode = S_IFREG | 0644 };
        if (strcmp(src, "-") != 0 && stat(src, &st) != 0) {
            cli_error("sandbox cp: %s: %s", src, strerror(errno));
            rc = CLI_FAIL;
        } else if (S_ISDIR(st.st_mode)) {
            r = corral_sandbox_hydrate(sb, src, dpath, &call);
        } else {
            int fd = strcmp(src, "-") == 0 ? 0 : open(src, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                cli_error("sandbox cp: %s: %s", src, strerror(errno));
                rc = CLI_FAIL;
            } else {
                struct fd_src fs = { fd };
                struct corral_source s = { .struct_size = sizeof s, .read = fd_read, .ud = &fs,
                                           .length = fd ? (int64_t)st.st_size : -1 };
                r = corral_sandbox_write_file(sb, dpath, &s, st.st_mode & 0777, &call);
                if (fd)
                    close(fd);
            }
        }
    }
    if (r)
        rc = report(r, &call);
    corral_sandbox_close(sb);
    corral_close(ctx);
    return rc;
}

/* ---- persist / hydrate ---- */

static void help_persist(void)
{
    printf("Usage: corral sandbox persist [--force] ID PATH OUT\n"
           "\n"
           "Saves the directory PATH inside sandbox ID to OUT on this host: OUT ending in .tar.gz\n"
           "(or .tgz) or .tar.zst is written compressed, .tar plain; any other OUT is a directory\n"
           "that is created and filled.  Streams in constant memory.  Entries must be regular\n"
           "files, directories, symlinks or hardlinks with relative names free of '..' (devices\n"
           "and fifos are refused).  Into a directory, links must also stay inside OUT, and\n"
           "nothing is ever written outside it; archive files keep symlink targets as they are.\n"
           "\n"
           "OUT must not exist yet, or be an empty directory: the output is written next to it under\n"
           "a temporary name and renamed into place, so a failed persist leaves nothing.  OUT is never\n"
           "a symlink and never /.\n"
           "\n"
           "  --force   replace an existing archive file, or write into a non-empty directory\n"
           "            (entries of the same name are replaced; a failure may leave part of it)\n"
           "\n"
           "Exit status: 0 saved, 1 failed, 2 bad usage.\n");
}

static void help_hydrate(void)
{
    printf("Usage: corral sandbox hydrate ID IN PATH\n"
           "\n"
           "Restores IN from this host into the directory PATH inside sandbox ID (created if\n"
           "missing).  IN is a .tar, .tar.gz or .tar.zst file, or a directory.  The archive is\n"
           "re-encoded entry by entry on the way (relative names without '..'; no devices or\n"
           "fifos; symlink targets kept) and streamed in constant memory.\n"
           "\n"
           "Exit status: 0 restored, 1 failed, 2 bad usage.\n");
}

static int cmd_persist_hydrate(int argc, char **argv, int persist)
{
    if (cli_wants_help(argc, argv)) {
        persist ? help_persist() : help_hydrate();
        return CLI_OK;
    }
    unsigned flags = 0;
    if (persist && argc > 1 && strcmp(argv[1], "--force") == 0) {
        flags |= CORRAL_PERSIST_FORCE;
        argv[1] = argv[0];
        argv++, argc--;
    }
    if (argc != 4) {
        cli_error(persist ? "usage: corral sandbox persist [--force] ID PATH OUT"
                          : "usage: corral sandbox hydrate ID IN PATH");
        return CLI_USAGE;
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    corral_sandbox *sb = NULL;
    int rc = attach(ctx, argv[1], &sb);
    if (rc == CLI_OK) {
        struct corral_call call;
        corral_call_init(&call, 0);
        int r = persist ? corral_sandbox_persist_opts(sb, argv[2], argv[3], flags, &call)
                        : corral_sandbox_hydrate(sb, argv[2], argv[3], &call);
        if (r)
            rc = report(r, &call);
        corral_sandbox_close(sb);
    }
    corral_close(ctx);
    return rc;
}

/* ---- ls ---- */

static void help_ls(void)
{
    printf("Usage: corral sandbox ls [--json]\n"
           "\n"
           "Lists corral sandboxes on every loaded backend that can list them, plus entries of the\n"
           "local registry no backend reported (status \"registered\").  Columns: id, backend,\n"
           "status, seconds until the deadline (negative = overdue for `corral gc`), owner, rollout.\n"
           "\n"
           "  --json   a JSON array of {id, backend, status, deadline, owner, rollout, registered}\n"
           "\n"
           "Exit status: 0 listed, 1 failed.\n");
}

struct ls_ud {
    int json;
    cJSON *arr;
    int n;
};

static int ls_cb(void *ud, const struct corral_sandbox_entry *e)
{
    struct ls_ud *l = ud;
    l->n++;
    if (l->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", e->id);
        cJSON_AddStringToObject(o, "backend", e->backend);
        cJSON_AddStringToObject(o, "status", e->status);
        cJSON_AddNumberToObject(o, "deadline", (double)e->deadline);
        cJSON_AddStringToObject(o, "owner", e->owner ? e->owner : "");
        cJSON_AddStringToObject(o, "rollout", e->rollout ? e->rollout : "");
        cJSON_AddBoolToObject(o, "registered", e->in_registry);
        cJSON_AddItemToArray(l->arr, o);
    } else {
        char left[32] = "-";
        if (e->deadline)
            snprintf(left, sizeof left, "%lld", (long long)(e->deadline - (int64_t)time(NULL)));
        printf("%-30s %-8s %-10s %9s  %-28s %s\n", e->id, e->backend, e->status, left,
               e->owner && *e->owner ? e->owner : "-", e->rollout && *e->rollout ? e->rollout : "-");
    }
    return 0;
}

static int cmd_ls(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help_ls();
        return CLI_OK;
    }
    struct ls_ud l = { 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            l.json = 1;
        } else {
            cli_error("sandbox ls: unknown argument '%s'", argv[i]);
            return CLI_USAGE;
        }
    }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    if (l.json)
        l.arr = cJSON_CreateArray();
    else
        printf("%-30s %-8s %-10s %9s  %-28s %s\n", "ID", "BACKEND", "STATUS", "DEADLINE", "OWNER", "ROLLOUT");
    struct corral_call call;
    corral_call_init(&call, 300000);
    int r = corral_sandbox_ls(ctx, ls_cb, &l, &call);
    int rc = r ? report(r, &call) : CLI_OK;
    if (l.json) {
        char *t = cJSON_Print(l.arr);
        if (t)
            puts(t);
        cJSON_free(t);
        cJSON_Delete(l.arr);
    }
    corral_close(ctx);
    return rc;
}

/* ---- pause / resume / rm ---- */

static int cmd_simple(int argc, char **argv, const char *what)
{
    if (cli_wants_help(argc, argv)) {
        if (!strcmp(what, "rm"))
            printf("Usage: corral sandbox rm ID...\n\n"
                   "Destroys each sandbox (everything the backend holds for it) and forgets it.\n"
                   "A sandbox that is already gone counts as removed.\n\n"
                   "Exit status: 0 all removed, 1 any failed, 2 bad usage, 4 a sandbox's backend is not\n"
                   "loaded (its registry entry is kept).\n");
        else
            printf("Usage: corral sandbox %s ID\n\n%s every process of the sandbox (backends with the\n"
                   "pause capability only; see `corral plugins --json`).\n\n"
                   "Exit status: 0 done, 1 failed or not supported by the backend, 2 bad usage, 4 the\n"
                   "backend is not loaded.\n",
                   what, !strcmp(what, "pause") ? "Freezes" : "Thaws");
        return CLI_OK;
    }
    int is_rm = !strcmp(what, "rm");
    if (argc < 2 || (!is_rm && argc != 2)) {
        cli_error("usage: corral sandbox %s ID%s", what, is_rm ? "..." : "");
        return CLI_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (!corral_sandbox_id_valid(argv[i])) {
            cli_error("'%s' is not a sandbox id (want <backend>-<16 hex digits>)", argv[i]);
            return CLI_USAGE;
        }
    int code;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    int rc = CLI_OK;
    for (int i = 1; i < argc; i++) {
        struct corral_call call;
        corral_call_init(&call, 300000);
        corral_sandbox *sb = NULL;
        int gone = 0;
        int r = attach_ex(ctx, argv[i], &sb, is_rm ? &gone : NULL);
        if (gone) {
            /* the backend has no such sandbox any more: just forget it */
            corral_registry_del(argv[i], &call);
            printf("%s already gone\n", argv[i]);
            continue;
        }
        if (r) {
            rc = r;
            continue;
        }
        r = is_rm ? corral_sandbox_destroy(sb, &call)
            : !strcmp(what, "pause") ? corral_sandbox_pause(sb, &call) : corral_sandbox_resume(sb, &call);
        if (r) {
            cli_error("%s: %s", argv[i], call.message);
            rc = CLI_FAIL;
        } else if (is_rm) {
            printf("%s removed\n", argv[i]);
        }
        corral_sandbox_close(sb);
    }
    corral_close(ctx);
    return rc;
}

/* ---- dispatch ---- */

static void help(FILE *f)
{
    fprintf(f, "Usage: corral sandbox COMMAND [ARGS...]\n"
               "\n"
               "Commands (each takes --help):\n"
               "  create --backend NAME [...]   create a sandbox, print its id\n"
               "  exec [...] ID -- CMD [ARG...] run a command inside, exit with its status\n"
               "  cp SRC DST                    copy a file in or out (ID:/path on one side)\n"
               "  persist [--force] ID PATH OUT save a directory to a .tar.gz/.tar.zst/.tar or a dir\n"
               "  hydrate ID IN PATH            restore a .tar(.gz/.zst) or a directory into PATH\n"
               "  ls [--json]                   list sandboxes on every loaded backend\n"
               "  pause ID / resume ID          freeze / thaw (backends that can)\n"
               "  rm ID...                      destroy sandboxes\n"
               "\n"
               "Sandboxes are found again by id through the local registry (sandboxes/ of\n"
               "$CORRAL_STATE_DIR, else $XDG_STATE_HOME/corral, else /var/lib/corral for root, else\n"
               "~/.local/state/corral; the local backend keeps its sandboxes in local/ there).\n"
               "`corral gc` removes those past their deadline.\n");
}

int cli_cmd_sandbox(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        help(stdout);
        return CLI_OK;
    }
    argc--;
    argv++;
    if (!strcmp(sub, "create"))
        return cmd_create(argc, argv);
    if (!strcmp(sub, "exec"))
        return cmd_exec(argc, argv);
    if (!strcmp(sub, "cp"))
        return cmd_cp(argc, argv);
    if (!strcmp(sub, "persist"))
        return cmd_persist_hydrate(argc, argv, 1);
    if (!strcmp(sub, "hydrate"))
        return cmd_persist_hydrate(argc, argv, 0);
    if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
        return cmd_ls(argc, argv);
    if (!strcmp(sub, "pause") || !strcmp(sub, "resume") || !strcmp(sub, "rm"))
        return cmd_simple(argc, argv, sub);
    cli_error("unknown sandbox command '%s' (see corral sandbox --help)", sub);
    return CLI_USAGE;
}
