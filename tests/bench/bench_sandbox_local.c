/* Local sandbox latency: create -> first exec -> destroy, p50/p90, next to
 * two baselines from the same run (fork+exec of /bin/true; a one-shot
 * `bwrap <same namespaces> true`).  Prints numbers; never fails on them. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corral/corral.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static int spawn_wait(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return st;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 30;
    if (n < 3)
        n = 3;
    char root[] = "/tmp/corral-bench-local-XXXXXX";
    if (!mkdtemp(root))
        return 1;
    char cfg[256], text[512];
    snprintf(cfg, sizeof(cfg), "%s/corral.json", root);
    FILE *f = fopen(cfg, "w");
    snprintf(text, sizeof(text), "{\"sandbox\": {\"local\": {\"state_dir\": \"%s/state\"}}}\n", root);
    fputs(text, f);
    fclose(f);
    setenv("CORRAL_CONFIG_DIR", root, 1);
    const char *const dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    struct corral_options o = {.struct_size = sizeof(o), .config_file = cfg, .plugin_dirs = dirs,
                               .log_level = "error"};
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_ctx *ctx = NULL;
    if (corral_open(&o, &ctx, &call) != 0) {
        fprintf(stderr, "corral_open: %s\n", call.message);
        return 1;
    }
    const struct corral_plugin_record *r = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "local");
    if (!r) {
        fprintf(stderr, "sandbox_local.so not loaded\n");
        return 1;
    }
    const struct corral_sandbox_ops *ops = r->desc->ops;
    double *create = calloc((size_t)n, sizeof(double)), *exec1 = calloc((size_t)n, sizeof(double));
    double *destroy = calloc((size_t)n, sizeof(double)), *total = calloc((size_t)n, sizeof(double));
    double *base_fork = calloc((size_t)n, sizeof(double)), *base_bwrap = calloc((size_t)n, sizeof(double));
    double *base_docker = calloc((size_t)n, sizeof(double));
    /* `docker run --rm` of the same command, when a daemon and the test image are there. */
    const char *image = getenv("BENCH_DOCKER_IMAGE") ? getenv("BENCH_DOCKER_IMAGE") : "corral-test/busybox:1";
    char probe[256];
    snprintf(probe, sizeof probe, "docker image inspect '%s' >/dev/null 2>&1", image);
    int with_docker = system(probe) == 0;
    const char *const tv[] = {"true", NULL};
    for (int i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof(id), "local-bench%d-%d", (int)getpid(), i);
        struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = id, .ttl_s = 60};
        corral_sbx *s = NULL;
        double t0 = now_ms();
        if (ops->create(r->state, &spec, &s, &call) != 0) {
            fprintf(stderr, "create: %s\n", call.message);
            return 1;
        }
        double t1 = now_ms();
        struct corral_exec_request req = {.struct_size = sizeof(req), .argv = tv};
        struct corral_exec_result res = {.struct_size = sizeof(res)};
        if (ops->exec(s, &req, &res, &call) != 0 || res.exit_code != 0) {
            fprintf(stderr, "exec: %s\n", call.message);
            return 1;
        }
        double t2 = now_ms();
        ops->destroy(s, &call);
        ops->close(s);
        double t3 = now_ms();
        create[i] = t1 - t0;
        exec1[i] = t2 - t1;
        destroy[i] = t3 - t2;
        total[i] = t3 - t0;

        char *const tru[] = {"/bin/true", NULL};
        double b0 = now_ms();
        spawn_wait(tru);
        base_fork[i] = now_ms() - b0;
        char *const bw[] = {"/usr/bin/bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                            "--unshare-net", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc",
                            "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true", NULL};
        b0 = now_ms();
        spawn_wait(bw);
        base_bwrap[i] = now_ms() - b0;
        if (with_docker) {
            char *const dr[] = {"docker", "run", "--rm", "--network", "none", (char *)image, "true", NULL};
            b0 = now_ms();
            if (spawn_wait(dr) != 0) {
                fprintf(stderr, "docker run --rm %s true failed\n", image);
                return 1;
            }
            base_docker[i] = now_ms() - b0;
        }
    }
    double p50 = pct(total, n, 0.5), p99 = pct(total, n, 0.99);
    double bf = pct(base_fork, n, 0.5), bb = pct(base_bwrap, n, 0.5);
    printf("local sandbox, %d iterations (ms)\n", n);
    printf("  create              p50 %7.2f  p99 %7.2f\n", pct(create, n, 0.5), pct(create, n, 0.99));
    printf("  first exec          p50 %7.2f  p99 %7.2f\n", pct(exec1, n, 0.5), pct(exec1, n, 0.99));
    printf("  destroy             p50 %7.2f  p99 %7.2f\n", pct(destroy, n, 0.5), pct(destroy, n, 0.99));
    printf("  create+exec+destroy p50 %7.2f  p99 %7.2f\n", p50, p99);
    printf("baselines (same run): fork+exec /bin/true p50 %.2f p99 %.2f; one-shot bwrap true p50 %.2f p99 %.2f\n",
           bf, pct(base_fork, n, 0.99), bb, pct(base_bwrap, n, 0.99));
    if (with_docker)
        printf("baseline (same run): docker run --rm %s true p50 %.2f p99 %.2f\n", image,
               pct(base_docker, n, 0.5), pct(base_docker, n, 0.99));
    printf("ratios (p50): total/bwrap-one-shot %.2f  total/fork-exec %.1f", p50 / bb, p50 / bf);
    if (with_docker)
        printf("  docker-run/total %.1fx faster", pct(base_docker, n, 0.5) / p50);
    printf("\n");
    corral_close(ctx);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return 1;
    return 0;
}
