/* corral task: start a Harbor-format task (init) and check task directories
 * before running them (check).  Validation of task.json/task.toml is the
 * public loader's (corral_task_load), whether an image can be had on the
 * backend the image layer's (corral_image_check); this file adds only the
 * checks on files the loader does not make (docs/harbor.md, "Checking and
 * starting tasks"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <corral/image.h>
#include <corral/rollout.h>
#include <corral/sandbox.h>

#include "cli.h"

static void help(void)
{
    printf("Usage: corral task init NAME\n"
           "       corral task check [--backend NAME] [--json] DIR...\n"
           "\n"
           "Commands:\n"
           "  init NAME   create a minimal Harbor-format task in the new directory NAME\n"
           "  check DIR   check task directories before running them on a backend\n"
           "\n"
           "init writes instruction.md, task.toml, tests/test.sh (writes /logs/verifier/reward.txt)\n"
           "and solution/solve.sh (the oracle's answer, which passes the test).  NAME must not exist,\n"
           "must end in a plain name (letters, digits, . _ -) and its parent must be a writable\n"
           "directory.\n"
           "\n"
           "check loads each task as `corral run` would (task.json or task.toml, instruction.md; its\n"
           "error is the task's error, its task.toml warnings are warnings), then warns about: no\n"
           "tests/test.sh and no verify commands (nothing scores the run); no solution/solve.sh (the\n"
           "oracle agent cannot run it); any *.sh in tests/ or solution/ other than test.sh and\n"
           "solve.sh (run with bash, they need no execute bit) that is neither executable nor starts\n"
           "with #! (it can only be sourced or run with bash).  Then it checks that the task's image\n"
           "can be had on the backend, without downloading it: local (and any backend that runs\n"
           "images from corral's cache) has it when the cache does or when its registry, asked\n"
           "through the configured mirrors with the logins of ~/.docker/config.json, has its manifest\n"
           "(nothing is pulled or written to the cache); docker when its daemon has it or the registry\n"
           "does; the cloud backends choose their images their own way (a note says it is not\n"
           "checked).  An image that is not a reference or that the registry does not know is an\n"
           "error naming the task file, the field and the image; a registry that cannot be reached\n"
           "in 15 s is an error naming it.  A task with only environment/Dockerfile passes on a\n"
           "backend that builds images (docker) and is an error on the others.  One line per problem,\n"
           "\"DIR: error: ...\" or \"DIR: warning: ...\" (and \"DIR: note: ...\"), then a summary.\n"
           "\n"
           "  --backend NAME  (check) the sandbox backend to check the images for, as `corral run\n"
           "           --sandbox NAME` would use it (--sandbox NAME is the same); default local, as\n"
           "           `corral run`'s.  A backend that is not loaded exits 4.\n"
           "  --json   (check) print {\"backend\", \"tasks\": [{\"dir\", \"ok\", \"errors\", \"warnings\",\n"
           "           \"notes\"}], \"ok\"} as one JSON document instead of lines\n"
           "\n"
           "Exit status: 0 done (check: no errors; warnings allowed), 1 init failed or a task has an\n"
           "error, 2 bad command line, 3 invalid configuration, 4 the backend is not loaded.\n");
}

/* ---- init ---- */

static const char TASK_TOML[] =
    "# A task in Harbor's format (docs/harbor.md in corral). Check it with\n"
    "# `corral task check DIR`, run it with `corral run --task DIR --agent oracle`.\n"
    "version = \"1.0\"\n"
    "\n"
    "[task]\n"
    "name = \"%s\"\n"
    "\n"
    "[agent]\n"
    "timeout_sec = 600\n"
    "\n"
    "[verifier]\n"
    "timeout_sec = 120\n"
    "\n"
    "[environment]\n"
    "# docker_image names the image the task runs in, e.g. docker_image = \"ubuntu:24.04\";\n"
    "# without it the sandbox backend's default image (or the host system, local backend) is used.\n"
    "# The working directory the agent, the tests and the solution start in:\n"
    "workdir = \"/app\"\n"
    "# No network for the agent and the tests; true gives them full network access.\n"
    "allow_internet = false\n";

static const char INSTRUCTION[] =
    "Create a file named `hello.txt` in the current directory containing exactly\n"
    "the line `Hello, world!`.\n";

static const char TEST_SH[] =
    "#!/bin/bash\n"
    "# The verifier: run with bash after the agent, from the task's working\n"
    "# directory. The reward goes to /logs/verifier/reward.txt (a number, 1 =\n"
    "# solved) or, for several metrics, to /logs/verifier/reward.json.\n"
    "if [ \"$(cat hello.txt 2>/dev/null)\" = \"Hello, world!\" ]; then\n"
    "  echo 1 > /logs/verifier/reward.txt\n"
    "else\n"
    "  echo 0 > /logs/verifier/reward.txt\n"
    "fi\n";

static const char SOLVE_SH[] =
    "#!/bin/bash\n"
    "# The reference solution (`corral run --agent oracle`), run with bash from\n"
    "# the task's working directory. It must make tests/test.sh write 1.\n"
    "echo 'Hello, world!' > hello.txt\n";

/* The last component of path: a plain name (letters, digits, . _ -, not
 * starting with . or -), or NULL. */
static const char *plain_base(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!*base || *base == '.' || *base == '-' || strlen(base) > 200)
        return NULL;
    for (const char *p = base; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            return NULL;
    return base;
}

/* Create dir/rel with contents and mode, never over an existing file. */
static int write_new(const char *dir, const char *rel, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path) {
        cli_error("task init: %s/%s: path too long", dir, rel);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
        cli_error("task init: cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (close(fd) != 0) {
        cli_error("task init: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int task_init(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        cli_error("task init: give one NAME, the directory to create (see corral task --help)");
        return CLI_USAGE;
    }
    const char *name = argv[1];
    const char *base = plain_base(name);
    if (!base) {
        cli_error("task init: '%s' must end in a plain directory name (letters, digits, . _ -; "
                  "not starting with . or -)",
                  name);
        return CLI_FAIL;
    }
    struct stat st;
    if (lstat(name, &st) == 0) {
        cli_error("task init: %s already exists; left as it is", name);
        return CLI_FAIL;
    }
    char parent[PATH_MAX];
    size_t plen = (size_t)(base - name);
    if (plen >= sizeof parent) {
        cli_error("task init: %s: path too long", name);
        return CLI_FAIL;
    }
    if (plen == 0)
        strcpy(parent, ".");
    else
        memcpy(parent, name, plen), parent[plen] = '\0';
    const char *why = stat(parent, &st) != 0         ? strerror(errno)
                      : !S_ISDIR(st.st_mode)              ? "not a directory"
                      : access(parent, W_OK | X_OK) != 0 ? strerror(errno)
                                                          : NULL;
    if (why) {
        cli_error("task init: cannot create %s: its parent %s is not a writable directory (%s)", name, parent, why);
        return CLI_FAIL;
    }
    char subdir[PATH_MAX];
    int r = mkdir(name, 0755) == 0 ? 0 : -1;
    if (r)
        cli_error("task init: cannot create %s: %s", name, strerror(errno));
    char *toml = NULL;
    if (!r && asprintf(&toml, TASK_TOML, base) < 0) {
        toml = NULL;
        cli_error("task init: out of memory");
        r = -1;
    }
    if (!r)
        r = write_new(name, "instruction.md", INSTRUCTION, 0644);
    if (!r)
        r = write_new(name, "task.toml", toml, 0644);
    for (int i = 0; !r && i < 2; i++) {
        snprintf(subdir, sizeof subdir, "%s/%s", name, i ? "solution" : "tests");
        if (mkdir(subdir, 0755) != 0) {
            cli_error("task init: cannot create %s: %s", subdir, strerror(errno));
            r = -1;
        }
    }
    if (!r)
        r = write_new(name, "tests/test.sh", TEST_SH, 0755);
    if (!r)
        r = write_new(name, "solution/solve.sh", SOLVE_SH, 0755);
    free(toml);
    if (r)
        return CLI_FAIL;
    printf("\nA Harbor-format task is in %s: edit instruction.md, tests/test.sh and solution/solve.sh.\n"
           "Next:\n"
           "  corral task check %s\n"
           "  corral run --task %s --agent oracle\n",
           name, name, name);
    return CLI_OK;
}

/* ---- check ---- */

struct checked {
    cJSON *errors, *warnings, *notes; /* arrays of strings, owned by the task's JSON object */
};

static void add(cJSON *arr, const char *fmt, ...) CORRAL_PRINTF(2, 3);
static void add(cJSON *arr, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cJSON_AddItemToArray(arr, cJSON_CreateString(line));
}

/* Scripts in dir/sub other than the one run with bash (`entry`): each must
 * be executable or start with "#!". */
static void check_scripts(const char *dir, const char *sub, const char *entry, struct checked *c)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".sh") != 0 || strcmp(e->d_name, entry) == 0)
            continue;
        char file[PATH_MAX];
        struct stat st;
        if (snprintf(file, sizeof file, "%s/%s", path, e->d_name) >= (int)sizeof file ||
            lstat(file, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111))
            continue;
        char head[2] = {0};
        FILE *f = fopen(file, "rb");
        size_t got = f ? fread(head, 1, 2, f) : 0;
        if (f)
            fclose(f);
        if (got == 2 && head[0] == '#' && head[1] == '!')
            continue;
        add(c->warnings,
            "%s/%s is neither executable nor starts with #!: it can only be sourced or run with bash "
            "(%s is run with bash)",
            sub, e->d_name, entry);
    }
    closedir(d);
}

/* How long asking a backend or a registry about one image may take. */
#define IMAGE_CHECK_MS 15000

/* Whether t's image can be had on backend (corral_image_check). */
static void check_image(corral_ctx *ctx, const char *backend, const struct corral_task *t, struct checked *c)
{
    const char *field = t->harbor ? "task.toml: [environment] docker_image" : "task.json: image";
    struct corral_call call;
    corral_call_init(&call, IMAGE_CHECK_MS);
    struct corral_image_where w;
    int rc = corral_image_check(ctx, backend, t->image, &w, &call);
    if (rc == 0 && w.place == CORRAL_IMAGE_IN_CACHE)
        add(c->notes, "image %s: in corral's image cache (the %s backend runs it from there)", t->image, backend);
    else if (rc == 0 && w.place == CORRAL_IMAGE_ON_BACKEND)
        add(c->notes, "image %s: the %s backend has it", t->image, backend);
    else if (rc == 0)
        add(c->notes, "image %s: its registry has it (%s); the %s backend pulls it at run time", t->image, w.source,
            backend);
    else if (rc == CORRAL_ENOTSUP)
        add(c->notes, "image %s: not checked: %s", t->image, call.message);
    else if (rc == CORRAL_EINVAL)
        add(c->errors, "%s '%s' is not an image reference: %s", field, t->image, call.message);
    else if (rc == CORRAL_ENOTFOUND)
        add(c->errors, "%s '%s': no such image: %s", field, t->image, call.message);
    else
        add(c->errors, "%s '%s': cannot check it for the %s backend: %s", field, t->image, backend,
            call.message);
}

/* Check the task at dir for backend (loaded; builds: it has build_image). */
static cJSON *check_one(corral_ctx *ctx, const char *backend, int builds, const char *dir)
{
    cJSON *o = cJSON_CreateObject();
    struct checked c = {cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray()};
    cJSON_AddStringToObject(o, "dir", dir);
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_task *t = NULL;
    if (corral_task_load(dir, &t, &call) != 0) {
        add(c.errors, "%s", call.message);
    } else {
        for (char **w = t->warnings; w && *w; w++)
            add(c.warnings, "%s", *w);
        if (!t->has_tests && !(t->verify && t->verify[0]))
            add(c.warnings, "no tests/test.sh and no verify commands: nothing scores the agent's work");
        if (!t->has_solution)
            add(c.warnings, "no solution/solve.sh: the oracle agent cannot run this task");
        check_scripts(t->dir, "tests", "test.sh", &c);
        check_scripts(t->dir, "solution", "solve.sh", &c);
        if (t->image)
            check_image(ctx, backend, t, &c);
        else if (t->has_dockerfile && builds)
            add(c.notes, "environment/Dockerfile: the %s backend builds its image at run time", backend);
        else if (t->has_dockerfile)
            add(c.errors, "environment/Dockerfile: the %s backend cannot build images (check with --backend "
                "docker, or give [environment] docker_image)", backend);
        corral_task_free(t);
    }
    cJSON_AddBoolToObject(o, "ok", cJSON_GetArraySize(c.errors) == 0);
    cJSON_AddItemToObject(o, "errors", c.errors);
    cJSON_AddItemToObject(o, "warnings", c.warnings);
    cJSON_AddItemToObject(o, "notes", c.notes);
    return o;
}

static void print_lines(const char *dir, const cJSON *arr, const char *kind)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, arr) printf("%s: %s: %s\n", dir, kind, s->valuestring);
}

static int task_check(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, 0, 'J'},
                                             {"backend", required_argument, 0, 'b'},
                                             {"sandbox", required_argument, 0, 'b'},
                                             {0, 0, 0, 0}};
    int json = 0, opt;
    const char *backend = "local"; /* corral run's default (--sandbox) */
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'J')
            json = 1;
        else if (opt == 'b')
            backend = optarg;
        else
            return CLI_USAGE;
    }
    int first = optind;
    if (first == argc) {
        cli_error("task check: give one or more task directories (see corral task --help)");
        return CLI_USAGE;
    }
    int code = CLI_OK;
    corral_ctx *ctx = cli_open(&code);
    if (!ctx)
        return code;
    const struct corral_plugin_record *rec = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, backend);
    if (!rec || !rec->desc) {
        cli_error("task check: the %s backend is not loaded (see corral plugins)", backend);
        corral_close(ctx);
        return CLI_UNAVAILABLE;
    }
    const struct corral_sandbox_ops *ops = rec->desc->ops;
    int builds = CORRAL_HAS(ops, build_image);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "backend", backend);
    cJSON *tasks = cJSON_AddArrayToObject(doc, "tasks");
    int bad = 0, nwarn = 0;
    for (int i = first; i < argc; i++) {
        cJSON *o = check_one(ctx, backend, builds, argv[i]);
        cJSON_AddItemToArray(tasks, o);
        const cJSON *errs = cJSON_GetObjectItem(o, "errors"), *warns = cJSON_GetObjectItem(o, "warnings");
        bad += cJSON_GetArraySize(errs) > 0;
        nwarn += cJSON_GetArraySize(warns);
        if (!json) {
            print_lines(argv[i], errs, "error");
            print_lines(argv[i], warns, "warning");
            print_lines(argv[i], cJSON_GetObjectItem(o, "notes"), "note");
        }
    }
    cJSON_AddBoolToObject(doc, "ok", bad == 0);
    int ntasks = argc - first;
    if (json) {
        char *s = cJSON_PrintUnformatted(doc);
        if (s)
            puts(s);
        free(s);
    } else {
        printf("%d task%s checked: %d ok, %d with errors; %d warning%s\n", ntasks, ntasks == 1 ? "" : "s",
               ntasks - bad, bad, nwarn, nwarn == 1 ? "" : "s");
    }
    cJSON_Delete(doc);
    corral_close(ctx);
    if (fflush(stdout) != 0) {
        cli_error("task check: cannot write the output");
        return CLI_FAIL;
    }
    return bad ? CLI_FAIL : CLI_OK;
}

/* `corral task init|check`: argv[0] is "task"; the caller owns argv.
 * Returns a cli_exit code; everything allocated here is freed here. */
int cli_cmd_task(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    if (argc < 2) {
        cli_error("task: give a command, init or check (see corral task --help)");
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "init") == 0)
        return task_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0)
        return task_check(argc - 1, argv + 1);
    cli_error("task: unknown command '%s' (see corral task --help)", argv[1]);
    return CLI_USAGE;
}
