/* Live smoke test of a cloud backend (islo or hf): runs only when the
 * credentials are in the environment, else exits 77 (skipped).
 *   islo: ISLO_API_KEY [ISLO_BASE_URL ISLO_COMPUTE_URL]
 *   hf:   HF_TOKEN HF_NAMESPACE [HF_ENDPOINT]
 * It creates one sandbox, runs a command, writes and reads a file, and
 * destroys it, failing if list() still shows it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testenv.h"

static int fails;
#define CHECK(cond, ...)                                                                                    \
    do {                                                                                                    \
        if (!(cond)) {                                                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                   \
            fputc('\n', stderr);                                                                            \
            fails++;                                                                                        \
        }                                                                                                   \
    } while (0)

struct mem {
    char buf[4096];
    size_t n;
};

static int mem_write(void *ud, const void *b, size_t len)
{
    struct mem *m = ud;
    size_t k = len < sizeof m->buf - 1 - m->n ? len : sizeof m->buf - 1 - m->n;
    memcpy(m->buf + m->n, b, k);
    m->n += k;
    m->buf[m->n] = '\0';
    return 0;
}

static long one_read(void *ud, void *b, size_t cap)
{
    const char **s = ud;
    size_t n = strlen(*s) < cap ? strlen(*s) : cap;
    memcpy(b, *s, n);
    *s += n;
    return (long)n;
}

static int count(void *ud, const struct corral_sandbox_info *i)
{
    (void)i;
    ++*(int *)ud;
    return 0;
}

int main(void)
{
    const char *b = BACKEND;
    const char *need = strcmp(b, "islo") == 0 ? "ISLO_API_KEY" : "HF_TOKEN";
    if (!getenv(need) || (strcmp(b, "hf") == 0 && !getenv("HF_NAMESPACE"))) {
        printf("%s not set: live %s test skipped\n", need, b);
        return 77;
    }
    testenv_setup();
    char cfg[1024];
    if (strcmp(b, "islo") == 0)
        snprintf(cfg, sizeof cfg, "{\"sandbox\": {\"islo\": {\"control_url\": \"%s\", \"compute_url\": \"%s\"}}}",
                 getenv("ISLO_BASE_URL") ? getenv("ISLO_BASE_URL") : "https://api.islo.dev",
                 getenv("ISLO_COMPUTE_URL") ? getenv("ISLO_COMPUTE_URL") : "https://ca.compute.islo.dev");
    else
        snprintf(cfg, sizeof cfg, "{\"sandbox\": {\"hf\": {\"endpoint\": \"%s\", \"namespace\": \"%s\"}}}",
                 getenv("HF_ENDPOINT") ? getenv("HF_ENDPOINT") : "https://huggingface.co", getenv("HF_NAMESPACE"));
    testenv_write("etc/corral.json", cfg);
    const char *dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    const struct corral_plugin_record *r = ctx ? corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, b) : NULL;
    if (!r) {
        fprintf(stderr, "plugin %s not loaded\n", b);
        return 1;
    }
    const struct corral_sandbox_ops *ops = r->desc->ops;
    char id[64], idl[96];
    snprintf(id, sizeof id, "%s-live%d", b, (int)getpid());
    snprintf(idl, sizeof idl, "corral.id=%s", id);
    const char *labels[] = {idl, "corral.owner=live-test", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = id, .labels = labels, .ttl_s = 900,
                                       .network = CORRAL_NET_FULL};
    struct corral_call call;
    corral_call_init(&call, 600000);
    corral_sbx *sb = NULL;
    int rc = ops->create(r->state, &spec, &sb, &call);
    CHECK(rc == 0, "create: %s", call.message);
    if (sb) {
        struct mem out = {0};
        struct corral_sink so = {.struct_size = sizeof so, .write = mem_write, .ud = &out};
        const char *argv[] = {"echo", "live ok", NULL};
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .out = &so};
        struct corral_exec_result res = {.struct_size = sizeof res};
        CHECK(ops->exec(sb, &req, &res, &call) == 0 && res.exit_code == 0, "exec: %s", call.message);
        CHECK(strcmp(out.buf, "live ok\n") == 0, "exec output '%s'", out.buf);
        const char *text = "hello", *cur = text;
        struct corral_source src = {.struct_size = sizeof src, .read = one_read, .ud = &cur, .length = 5};
        CHECK(ops->write_file(sb, "/tmp/corral-live/x.txt", &src, 0644, &call) == 0, "write: %s", call.message);
        out.n = 0;
        out.buf[0] = '\0';
        CHECK(ops->read_file(sb, "/tmp/corral-live/x.txt", &so, &call) == 0 && strcmp(out.buf, "hello") == 0,
              "read: %s", call.message);
        CHECK(ops->destroy(sb, &call) == 0, "destroy: %s", call.message);
        ops->close(sb);
        int n = 0;
        const char *filt[] = {idl, NULL};
        CHECK(ops->list(r->state, filt, count, &n, &call) == 0 && n == 0, "list after destroy: %d", n);
    }
    corral_close(ctx);
    testenv_teardown();
    return fails ? 1 : 0;
}
