/* Exec round-trip benchmark: `true` in one container, timed through
 *   1. sandbox_docker (this repo, via libcorral's loader),
 *   2. the docker CLI (`docker exec NAME true`),
 *   3. python3-docker (container.exec_run(["true"])),
 * all against the same daemon and container, in the same run.  Prints
 * p50/p90/p99/mean per client and the ratios to sandbox_docker.  Not a
 * pass/fail test: numbers only (tests/bench/docker_exec.sh runs it).
 *
 * usage: bench_docker_exec [-n RUNS] [-w WARMUP] [-i IMAGE] [-d PLUGIN_DIR] */
#include <corral/corral.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double p50, p90, p99, mean;
};

static struct stats summarize(const char *name, double *v, int n)
{
    struct stats s = {0};
    qsort(v, (size_t)n, sizeof *v, cmp);
    for (int i = 0; i < n; i++)
        s.mean += v[i] / n;
    s.p50 = v[n / 2];
    s.p90 = v[(int)(n * 0.90)];
    s.p99 = v[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1];
    printf("%-16s n=%d  p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  mean %7.2f ms\n", name, n, s.p50, s.p90,
           s.p99, s.mean);
    return s;
}

static const char *PY =
    "import sys, time, docker\n"
    "c = docker.from_env().containers.get(sys.argv[1])\n"
    "n, w = int(sys.argv[2]), int(sys.argv[3])\n"
    "for i in range(n + w):\n"
    "    t = time.perf_counter()\n"
    "    r = c.exec_run(['true'])\n"
    "    d = (time.perf_counter() - t) * 1e3\n"
    "    assert r.exit_code == 0, r\n"
    "    if i >= w: print('%.4f' % d)\n";

int main(int argc, char **argv)
{
    int n = 200, warm = 10, opt;
    const char *image = "corral-test/busybox:1", *dir = CORRAL_BUILD_PLUGIN_DIR;
    while ((opt = getopt(argc, argv, "n:w:i:d:")) != -1) {
        if (opt == 'n') n = atoi(optarg);
        else if (opt == 'w') warm = atoi(optarg);
        else if (opt == 'i') image = optarg;
        else if (opt == 'd') dir = optarg;
        else return 2;
    }
    if (n < 10)
        n = 10;
    corral_log_setup(CORRAL_LOG_ERROR, NULL);
    const char *dirs[] = {dir, NULL};
    struct corral_options o = {.struct_size = sizeof o, .plugin_dirs = dirs};
    struct corral_call c;
    corral_call_init(&c, 0);
    corral_ctx *ctx = NULL;
    corral_open(&o, &ctx, &c);
    const struct corral_plugin_record *r = ctx ? corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "docker") : NULL;
    if (!r) {
        fprintf(stderr, "bench: sandbox_docker not found in %s\n", dir);
        return 1;
    }
    const struct corral_sandbox_ops *ops = r->desc->ops;
    char id[64], l_id[96];
    snprintf(id, sizeof id, "docker-bench%d", (int)getpid());
    snprintf(l_id, sizeof l_id, "corral.id=%s", id);
    const char *labels[] = {l_id, "corral.owner=bench", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = id, .image = image, .labels = labels,
                                       .ttl_s = 1800};
    corral_sbx *sbx = NULL;
    corral_call_init(&c, 120000);
    if (ops->create(r->state, &spec, &sbx, &c)) {
        fprintf(stderr, "bench: create: %s\n", c.message);
        return 1;
    }
    double *ours = calloc((size_t)n, sizeof *ours), *cli = calloc((size_t)n, sizeof *cli);
    double *py = calloc((size_t)n, sizeof *py);
    const char *argv_true[] = {"true", NULL};
    int failed = 0;
    printf("exec round trip of `true`, %d runs (+%d warm-up) each, one container (%s)\n", n, warm, image);

    for (int i = 0; i < n + warm && !failed; i++) {
        struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv_true};
        struct corral_exec_result res = {.struct_size = sizeof res};
        corral_call_init(&c, 60000);
        double t = now_ms();
        int rc = ops->exec(sbx, &req, &res, &c);
        double d = now_ms() - t;
        if (rc || res.exit_code) {
            fprintf(stderr, "bench: exec failed: %d %s\n", rc, c.message);
            failed = 1;
        }
        if (i >= warm)
            ours[i - warm] = d;
    }
    for (int i = 0; i < n + warm && !failed; i++) {
        char *args[] = {"docker", "exec", id, "true", NULL};
        pid_t pid;
        double t = now_ms();
        int st = -1;
        if (posix_spawnp(&pid, "docker", NULL, NULL, args, environ) == 0)
            waitpid(pid, &st, 0);
        double d = now_ms() - t;
        if (st != 0) {
            fprintf(stderr, "bench: docker exec failed (status %d)\n", st);
            failed = 1;
        }
        if (i >= warm)
            cli[i - warm] = d;
    }
    int npy = 0;
    if (!failed) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 -c \"$BENCH_PY\" %s %d %d", id, n, warm);
        setenv("BENCH_PY", PY, 1);
        FILE *f = popen(cmd, "r");
        while (f && npy < n && fscanf(f, "%lf", &py[npy]) == 1)
            npy++;
        if (f && pclose(f) != 0)
            fprintf(stderr, "bench: python3-docker run failed (is python3-docker installed?)\n");
    }
    if (!failed) {
        struct stats so = summarize("sandbox_docker", ours, n);
        struct stats sc = summarize("docker CLI", cli, n);
        printf("ratios vs sandbox_docker: docker CLI p50 x%.2f p99 x%.2f", sc.p50 / so.p50, sc.p99 / so.p99);
        if (npy == n) {
            printf("\n");
            struct stats sp = summarize("python3-docker", py, n);
            printf("ratios vs sandbox_docker: python3-docker p50 x%.2f p99 x%.2f\n", sp.p50 / so.p50,
                   sp.p99 / so.p99);
        } else {
            printf("\npython3-docker: not measured\n");
        }
    }
    corral_call_init(&c, 60000);
    ops->destroy(sbx, &c);
    ops->close(sbx);
    free(ours);
    free(cli);
    free(py);
    corral_close(ctx);
    return failed;
}
