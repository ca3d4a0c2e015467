/* Exec round-trip benchmark: `true` in one container, timed through
 *   1. sandbox_docker (this repo, via libcorral's loader),
 *   2. the docker CLI (`docker exec NAME true`),
 *   3. python3-docker (container.exec_run(["true"])),
 * all against the same daemon and container, in the same run, interleaved
 * (one run of each client per round) so that background load hits all
 * three alike.  Prints p50/p90/p99/mean per client and the ratios to
 * sandbox_docker.  Not a pass/fail test: numbers only
 * (tests/bench/docker_exec.sh runs it).
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

/* One exec_run per line read; its time (ms) on stdout. */
static const char *PY =
    "import sys, time, docker\n"
    "c = docker.from_env().containers.get(sys.argv[1])\n"
    "for line in sys.stdin:\n"
    "    t = time.perf_counter()\n"
    "    r = c.exec_run(['true'])\n"
    "    d = (time.perf_counter() - t) * 1e3\n"
    "    print('%.4f' % (d if r.exit_code == 0 else -1.0), flush=True)\n";

/* python3 -c PY NAME with pipes both ways. */
static pid_t py_start(const char *name, FILE **to, FILE **from)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *args[] = {"python3", "-c", (char *)PY, (char *)name, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "python3", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    *to = fdopen(in[1], "w");
    *from = fdopen(out[0], "r");
    return pid;
}

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
    int failed = 0, npy = 0;
    printf("exec round trip of `true`, %d runs (+%d warm-up) each, one container (%s)\n", n, warm, image);

    FILE *pto = NULL, *pfrom = NULL;
    pid_t ppid = py_start(id, &pto, &pfrom);
    int have_py = ppid > 0;
    for (int i = 0; i < n + warm && !failed; i++) {
        /* sandbox_docker */
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
        /* docker CLI */
        char *args[] = {"docker", "exec", id, "true", NULL};
        pid_t pid;
        int st = -1;
        t = now_ms();
        if (posix_spawnp(&pid, "docker", NULL, NULL, args, environ) == 0)
            waitpid(pid, &st, 0);
        d = now_ms() - t;
        if (st != 0) {
            fprintf(stderr, "bench: docker exec failed (status %d)\n", st);
            failed = 1;
        }
        if (i >= warm)
            cli[i - warm] = d;
        /* python3-docker */
        double pd = -1;
        if (have_py && (fprintf(pto, "go\n") < 0 || fflush(pto) || fscanf(pfrom, "%lf", &pd) != 1 || pd < 0)) {
            fprintf(stderr, "bench: python3-docker failed (is python3-docker installed?)\n");
            have_py = 0;
        }
        if (have_py && i >= warm)
            py[npy++] = pd;
    }
    if (pto)
        fclose(pto);
    if (pfrom)
        fclose(pfrom);
    if (ppid > 0)
        waitpid(ppid, NULL, 0);
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
