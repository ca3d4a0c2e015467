/*
 * gate_bench: what the gate costs.  Not a pass/fail test.
 *
 *   gate_bench latency [-n CALLS_PER_CLIENT] [-b BODY_BYTES] [-c LEVELS]
 *     Per-call latency through the gate (replay responder, SSE, auth,
 *     parse, transcript) against a baseline: a minimal MHD server in this
 *     program answering the same bytes with the same MHD threading model.
 *     At each concurrency level (default 1,16,128) every client thread keeps
 *     one keep-alive connection and makes CALLS_PER_CLIENT calls; gate and
 *     baseline rounds alternate.  Prints p50/p99 of both and the overhead,
 *     and the process CPU time per call in each (clients included, so the
 *     difference is the gate's own cost; it holds still when other work
 *     on the machine makes the latencies jump).
 *     With -t THINK_MS each client pauses about THINK_MS between calls (an
 *     agent running its tools) instead of calling back to back: closed-loop
 *     rounds measure saturation, where every call waits behind the others.
 *
 *     -T THREADS sets the HTTP threads of gate and baseline alike (default:
 *     the gate's, one per CPU up to 4).
 *
 *     -d messages sends the same request as an Anthropic Messages call to
 *     /v1/messages instead, -d responses as an OpenAI Responses call to
 *     /v1/responses, -d gemini as a Gemini :streamGenerateContent call
 *     (docs/gate-dialects.md): the dialect edge's cost is the difference
 *     from the chat-completions run.
 *
 *   gate_bench dialects [-n CALLS] [-b BODY_BYTES] [-i TRANSLATIONS] [-S SPAN_MIN] [-p 1]
 *     For each dialect (chat completions, messages, responses, gemini) the
 *     latency round above at one client with an agent's conversation
 *     (system prompt, tool calls and their results, texts full of escapes)
 *     of BODY_BYTES, three rounds alternating between dialects: p50/p90
 *     overhead and CPU per call over the baseline (medians of the rounds),
 *     each as a ratio to chat completions' in the same run.  Then
 *     "translation only": the edge's translation of that request, and of
 *     the one padded prompt `latency` sends, into the normalized chat
 *     request and its fields in a loop (p50/p90 us; "+reread": with the
 *     printed request read again by the chat path, as the gate did
 *     before), beside the chat path's reading of a chat request.  -S sets the shortest string the
 *     edges carry as a span instead of through a cJSON tree (default 256;
 *     a huge value is the whole-tree translation, for comparison); -p 1
 *     runs the latency rounds with the padded prompt instead.
 *
 *   gate_bench memory [-r ROLLOUTS] [-b BODY_BYTES]
 *     The gate runs in a child process.  ROLLOUTS rollouts are registered
 *     over the trainer API and each gets one pending call of BODY_BYTES (an
 *     OpenCode request is ~30 KB); the child's RSS growth / ROLLOUTS is the
 *     memory per concurrent rollout.  Then every call is answered and the
 *     RSS is read again (the transcripts are kept).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include <corral/gate.h>

#include "gate/gate_internal.h" /* the dialect edges, for translation-only timings */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU time of this whole process (clients and server alike): per call,
 * gate minus base is what the gate costs, whatever else the machine runs. */
static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    size_t *total = ud;
    *total += s * n;
    return s * n;
}

/* The replayed answer: text, a tool call, usage. */
#define BENCH_ANSWER                                                                                                   \
    "{\"content\":\"The file is created.\",\"tool_calls\":[{\"name\":\"bash\","                                           \
    "\"arguments\":{\"command\":\"echo hello > hello.txt\"}}],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20}}"

static int dialect; /* -d: 0 chat completions, 1 messages, 2 responses, 3 gemini */

static int conversation; /* make_body: an agent's conversation instead of one padded prompt */

/* An agent's request of about `bytes` in the current dialect: a system
 * prompt, then turns of a tool call and its result, the texts full of
 * escapes (newlines, quotes, backslashes) as real tool output is. */
static char *make_conversation(size_t bytes)
{
    static const char line[] = "drwxr-xr-x  2 user user 4096 \\\"src\\\" C:\\\\tmp\\tfile.c\\n";
    static const char sys_line[] = "You are a coding agent.\\n- Use the \\\"bash\\\" tool\\t carefully.\\n";
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    const char *tools = dialect == 1   ? "\"tools\":[{\"name\":\"bash\",\"description\":\"run\",\"input_schema\":{\"type\":\"object\"}}]"
                        : dialect == 2 ? "\"tools\":[{\"type\":\"function\",\"name\":\"bash\",\"description\":\"run\","
                                         "\"parameters\":{\"type\":\"object\"}}]"
                        : dialect == 3 ? "\"tools\":[{\"functionDeclarations\":[{\"name\":\"bash\",\"description\":\"run\"}]}]"
                                       : "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bash\",\"description\":\"run\","
                                         "\"parameters\":{\"type\":\"object\"}}}]";
    fputs(dialect == 1   ? "{\"model\":\"m\",\"max_tokens\":4096,\"stream\":true,\"system\":\""
          : dialect == 2 ? "{\"model\":\"m\",\"stream\":true,\"instructions\":\""
          : dialect == 3 ? "{\"systemInstruction\":{\"parts\":[{\"text\":\""
                         : "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"system\",\"content\":\"",
          f);
    for (size_t k = 0; k < bytes / 4; k += sizeof sys_line - 1)
        fputs(sys_line, f);
    fputs(dialect == 1   ? "\",\"messages\":[{\"role\":\"user\",\"content\":\"do it\"}"
          : dialect == 2 ? "\",\"input\":[{\"role\":\"user\",\"content\":\"do it\"}"
          : dialect == 3 ? "\"}]},\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"do it\"}]}"
                         : "\"},{\"role\":\"user\",\"content\":\"do it\"}",
          f);
    for (int turn = 0; (fflush(f), n + 1200 < bytes); turn++) {
        if (dialect == 1)
            fprintf(f, ",{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"listing\"},{\"type\":"
                       "\"tool_use\",\"id\":\"c%d\",\"name\":\"bash\",\"input\":{\"command\":\"ls -la \\\"src\\\"\"}}]},"
                       "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c%d\",\"content\":\"",
                    turn, turn);
        else if (dialect == 2)
            fprintf(f, ",{\"type\":\"function_call\",\"call_id\":\"c%d\",\"name\":\"bash\",\"arguments\":"
                       "\"{\\\"command\\\":\\\"ls -la\\\"}\"},{\"type\":\"function_call_output\",\"call_id\":\"c%d\",\"output\":\"",
                    turn, turn);
        else if (dialect == 3)
            fputs(",{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"bash\",\"args\":{\"command\":"
                  "\"ls -la\"}}}]},{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"bash\",\"response\":"
                  "{\"output\":\"",
                  f);
        else
            fprintf(f, ",{\"role\":\"assistant\",\"content\":\"listing\",\"tool_calls\":[{\"id\":\"c%d\",\"type\":"
                       "\"function\",\"function\":{\"name\":\"bash\",\"arguments\":\"{\\\"command\\\":\\\"ls -la\\\"}\"}}]},"
                       "{\"role\":\"tool\",\"tool_call_id\":\"c%d\",\"content\":\"",
                    turn, turn);
        for (int k = 0; k < 20; k++)
            fputs(line, f);
        fputs(dialect == 1 ? "\"}]}" : dialect == 2 ? "\"}" : dialect == 3 ? "\"}}}]}" : "\"}", f);
    }
    fprintf(f, "],%s}", tools);
    fclose(f);
    return out;
}

static char *make_body(size_t bytes)
{
    if (conversation)
        return make_conversation(bytes);
    /* A chat (or Messages) request padded to about `bytes` with a long system prompt. */
    size_t pad = bytes > 200 ? bytes - 200 : 10;
    char *b = malloc(pad + 300);
    if (dialect == 3) {
        int g = snprintf(b, 300, "{\"systemInstruction\":{\"parts\":[{\"text\":\"");
        memset(b + g, 'x', pad);
        snprintf(b + g + pad, 200, "\"}]},\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
        return b;
    }
    int k = dialect == 1   ? snprintf(b, 300, "{\"model\":\"m\",\"max_tokens\":4096,\"stream\":true,\"system\":\"")
            : dialect == 2 ? snprintf(b, 300, "{\"model\":\"m\",\"stream\":true,\"instructions\":\"")
                           : snprintf(b, 300, "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                                              "\"messages\":[{\"role\":\"system\",\"content\":\"");
    memset(b + k, 'x', pad);
    snprintf(b + k + pad, 200, dialect == 1   ? "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                               : dialect == 2 ? "\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                                              : "\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
    return b;
}

static const char *route(void)
{
    return dialect == 1 ? "messages" : dialect == 2 ? "responses" : dialect == 3 ? "models/m:streamGenerateContent"
                                                                     : "chat/completions";
}

/* ---- baseline server: the same bytes, the same MHD model ------------------- */

static char *base_body;
static size_t base_len;

static enum MHD_Result base_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (!*con_cls) {
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(base_len, base_body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- clients ------------------------------------------------------------------ */

struct client {
    const char *url;
    const char *token;
    const char *body;
    int calls;
    int think_ms;    /* pause between calls (an agent runs tools) */
    double *lat;     /* calls entries, microseconds */
    int errors;
};

static void *client_main(void *p)
{
    struct client *c = p;
    CURL *h = curl_easy_init();
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    size_t total = 0;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &total);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    for (int i = 0; i < c->calls; i++) {
        double t0 = now_us();
        CURLcode rc = curl_easy_perform(h);
        c->lat[i] = now_us() - t0;
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        if (rc != CURLE_OK || st != 200)
            c->errors++;
        if (c->think_ms)
            usleep((useconds_t)(c->think_ms * 1000 / 2 + rand() % (c->think_ms * 1000 + 1)));
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* Run `n` clients against urls[i]/tokens[i]; all latencies into out. */
static int think_ms;
static unsigned server_threads; /* -T; 0: the gate's default */

static int run_round(int n, char **urls, char **tokens, const char *body, int calls, double *out)
{
    struct client *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (int i = 0; i < n; i++) {
        cs[i] = (struct client){.url = urls[i], .token = tokens[i], .body = body, .calls = calls,
                                .think_ms = think_ms, .lat = out + (size_t)i * (size_t)calls};
        pthread_create(&th[i], &at, client_main, &cs[i]);
    }
    int errors = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        errors += cs[i].errors;
    }
    pthread_attr_destroy(&at);
    free(cs);
    free(th);
    return errors;
}

/* The first level's numbers of the last latency() run (for `dialects`). */
static struct {
    double b50, g50, b90, g90, cpu; /* cpu: gate minus base, per call */
    int errors;
} last;
static int quiet; /* latency(): no table */

static int latency(int calls, size_t body_bytes, const int *levels, int nlevels)
{
    char *body = make_body(body_bytes);
    const char *line = BENCH_ANSWER "\n";
    int maxc = 0;
    for (int i = 0; i < nlevels; i++)
        maxc = levels[i] > maxc ? levels[i] : maxc;
    /* enough script lines for every round of the largest level (+1 warm-up each) */
    int rounds = 2 * nlevels + 2;
    size_t per = (size_t)(calls + 2) * (size_t)rounds;
    size_t ll = strlen(line);
    char *script = malloc(per * ll + 1);
    for (size_t i = 0; i < per; i++)
        memcpy(script + i * ll, line, ll);
    script[per * ll] = 0;

    /* The gate's default pool (one thread per CPU, at most 4) unless -T
     * says otherwise, given to the baseline as well. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = server_threads ? server_threads : cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
    struct corral_gate_options o = {.struct_size = sizeof o, .request_timeout_ms = 60000, .threads = threads};
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_gate *g = NULL;
    if (corral_gate_new(&o, &g, &call)) {
        fprintf(stderr, "gate: %s\n", call.message);
        return 1;
    }
    char **gurls = calloc((size_t)maxc, sizeof *gurls), **gtoks = calloc((size_t)maxc, sizeof *gtoks);
    char **burls = calloc((size_t)maxc, sizeof *burls);
    for (int i = 0; i < maxc; i++) {
        char id[32];
        snprintf(id, sizeof id, "bench-%d", i);
        struct corral_gate_responder r = {.struct_size = sizeof r, .kind = CORRAL_GATE_REPLAY, .replay_jsonl = script};
        gtoks[i] = malloc(65);
        if (corral_gate_register(g, id, &r, gtoks[i], &call)) {
            fprintf(stderr, "register: %s\n", call.message);
            return 1;
        }
        gurls[i] = malloc(256);
        snprintf(gurls[i], 256, "%s/rollout/%s/v1/%s", corral_gate_url(g), id, route());
    }

    /* Capture what the gate answers, and serve exactly that from the baseline. */
    {
        CURL *h = curl_easy_init();
        char auth[128];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", gtoks[0]);
        struct curl_slist *hd = curl_slist_append(NULL, auth);
        FILE *mem = open_memstream(&base_body, &base_len);
        curl_easy_setopt(h, CURLOPT_URL, gurls[0]);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
        curl_easy_perform(h);
        fclose(mem);
        curl_slist_free_all(hd);
        curl_easy_cleanup(h);
    }
    /* The same MHD setup as the gate's listeners (gate.c listener_start). */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_POLL | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                                                MHD_USE_ERROR_LOG,
                                            0, NULL, NULL, base_answer, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                            MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    for (int i = 0; i < maxc; i++) {
        burls[i] = malloc(256);
        snprintf(burls[i], 256, "http://127.0.0.1:%u/rollout/bench-%d/v1/%s", (unsigned)info->port, i, route());
    }

    if (!quiet) {
    printf("gate latency (%s): %d calls per client, request body %zu bytes, answer %zu bytes (SSE with a tool call), "
           "%u server threads each, %s\n", route(), calls, strlen(body), base_len, threads, think_ms ? "clients pause 0.5-1.5x THINK ms between calls"
                                                          : "closed loop (no pause between calls)");
    if (think_ms)
        printf("THINK = %d ms\n", think_ms);
    printf("%8s %12s %12s %12s %12s %14s %14s %12s %12s\n", "clients", "base p50 us", "gate p50 us", "base p99 us",
           "gate p99 us", "overhead p50", "overhead p99", "base cpu us", "gate cpu us");
    }
    for (int li = 0; li < nlevels; li++) {
        int n = levels[li];
        size_t tot = (size_t)n * (size_t)calls;
        double *lb = malloc(tot * sizeof *lb), *lg = malloc(tot * sizeof *lg);
        double *warm = malloc((size_t)n * 2 * sizeof *warm);
        run_round(n, burls, gtoks, body, 2, warm); /* warm-up: connections, caches */
        run_round(n, gurls, gtoks, body, 2, warm);
        double c0 = cpu_us();
        int eb = run_round(n, burls, gtoks, body, calls, lb);
        double c1 = cpu_us();
        int eg = run_round(n, gurls, gtoks, body, calls, lg);
        double c2 = cpu_us();
        qsort(lb, tot, sizeof *lb, cmp_d);
        qsort(lg, tot, sizeof *lg, cmp_d);
        double b50 = pct(lb, tot, .5), g50 = pct(lg, tot, .5), b99 = pct(lb, tot, .99), g99 = pct(lg, tot, .99);
        if (li == 0) {
            last.b50 = b50, last.g50 = g50, last.b90 = pct(lb, tot, .9), last.g90 = pct(lg, tot, .9);
            last.errors = eb + eg;
            last.cpu = ((c2 - c1) - (c1 - c0)) / (double)tot;
        }
        if (!quiet)
        printf("%8d %12.0f %12.0f %12.0f %12.0f %14.0f %14.0f %12.1f %12.1f%s\n", n, b50, g50, b99, g99, g50 - b50,
               g99 - b99, (c1 - c0) / (double)tot, (c2 - c1) / (double)tot, eb || eg ? "  (ERRORS)" : "");
        if ((eb || eg) && !quiet)
            printf("         errors: baseline %d, gate %d\n", eb, eg);
        free(lb);
        free(lg);
        free(warm);
    }
    MHD_stop_daemon(d);
    corral_gate_free(g);
    for (int i = 0; i < maxc; i++) {
        free(gurls[i]);
        free(gtoks[i]);
        free(burls[i]);
    }
    free(gurls);
    free(gtoks);
    free(burls);
    free(script);
    free(body);
    free(base_body);
    return 0;
}

/* ---- dialects ------------------------------------------------------------------- */

static const char *const DIALECTS[] = {"chat", "messages", "responses", "gemini"};

static double median3(double *v)
{
    qsort(v, 3, sizeof *v, cmp_d);
    return v[1];
}

/* Microseconds from body in dialect d to the normalized chat request and
 * its fields (c->req), as a call pays it: the edge reads the fields from
 * its own tree; with reread, as before that, by reading the printed
 * request again with gate_parse_chat_request() (for chat: reading the
 * request as the gate does), p50 and p90 over iters runs. */
static void translate_only(int d, const char *body, int iters, int reread, double *p50, double *p90)
{
    double *t = malloc((size_t)iters * sizeof *t);
    size_t len = strlen(body);
    char err[256];
    for (int i = 0; i < iters; i++) {
        size_t n = 0;
        struct gate_chat_request q = {0}, *qp = reread ? NULL : &q;
        double t0 = now_us();
        char *out = d == 1   ? gate_messages_normalize(body, len, qp, &n, err, sizeof err)
                    : d == 2 ? gate_responses_normalize(body, len, NULL, qp, &n, err, sizeof err)
                    : d == 3 ? gate_gemini_normalize(body, len, "m", 1, qp, &n, err, sizeof err)
                             : NULL;
        if (d == 0)
            gate_parse_chat_request(body, len, &q, err, sizeof err);
        else if (reread && out)
            gate_parse_chat_request(out, n, &q, err, sizeof err);
        t[i] = now_us() - t0;
        gate_chat_request_clear(&q);
        free(out);
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_d);
    *p50 = pct(t, (size_t)iters, .5);
    *p90 = pct(t, (size_t)iters, .9);
    free(t);
}

/* Microseconds (p50) to prepare the bench's answer: every dialect's
 * templates as gate_prepare() does for each trainer or upstream answer
 * (k = 0), or one dialect's alone (k = 1..3: Messages, Responses, Gemini). */
static double prepare_p50(const char *line, int k, int iters)
{
    double *t = malloc((size_t)iters * sizeof *t);
    char err[256];
    for (int i = 0; i < iters; i++) {
        struct gate_completion c;
        struct gate_prepared p;
        memset(&p, 0, sizeof p);
        if (gate_completion_from_text(line, strlen(line), &c, err, sizeof err) != 0)
            abort();
        double t0 = now_us();
        if (k == 0)
            gate_prepare(&c, &p);
        else
            (k == 1 ? gate_prepare_messages : k == 2 ? gate_prepare_responses : gate_prepare_gemini)(&c, &p);
        t[i] = now_us() - t0;
        gate_prepared_clear(&p);
        gate_completion_clear(&c);
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_d);
    double r = pct(t, (size_t)iters, .5);
    free(t);
    return r;
}

/* Every dialect's overhead at one client, 3 rounds alternating between
 * dialects (medians of the rounds), as a ratio to chat completions'
 * overhead in the same run; then the translation alone. */
static int padded; /* dialects -p 1: the padded prompt in the latency rounds */

static int dialects(int calls, size_t body_bytes, int iters)
{
    double o50[4][3], o90[4][3], cpu[4][3];
    int errors = 0, one = 1;
    quiet = 1;
    conversation = !padded;
    for (int r = 0; r < 3; r++)
        for (int d = 0; d < 4; d++) {
            dialect = d;
            if (latency(calls, body_bytes, &one, 1))
                return 1;
            o50[d][r] = last.g50 - last.b50;
            o90[d][r] = last.g90 - last.b90;
            cpu[d][r] = last.cpu;
            errors += last.errors;
        }
    quiet = 0;
    printf("gate overhead per dialect: 1 client, %d calls per round, %s of ~%zu bytes, "
           "3 rounds alternating (medians)%s\n", calls, padded ? "one padded prompt" : "an agent's conversation",
           body_bytes, errors ? " (ERRORS)" : "");
    printf("%10s %14s %14s %14s %14s %14s\n", "dialect", "overhead p50", "overhead p90", "x chat p50", "cpu/call us",
           "x chat cpu");
    double chat = median3(o50[0]), chat_cpu = median3(cpu[0]);
    for (int d = 0; d < 4; d++) {
        double m50 = median3(o50[d]), c = median3(cpu[d]);
        printf("%10s %14.0f %14.0f %14.2f %14.1f %14.2f\n", DIALECTS[d], m50, median3(o90[d]), chat > 0 ? m50 / chat : 0,
               c, chat_cpu > 0 ? c / chat_cpu : 0);
    }
    printf("translation only: the request into the normalized chat request and its fields, %d runs (chat: reading\n"
           "the request; \"+reread\": the edge's printed request read again by the chat path, as before)\n", iters);
    printf("%10s %14s %14s %14s %14s %14s %14s\n", "dialect", "conv. p50 us", "conv. p90 us", "+reread p50",
           "padded p50 us", "padded p90 us", "+reread p50");
    for (int d = 0; d < 4; d++) {
        dialect = d;
        double p[6], unused;
        for (int k = 0; k < 2; k++) {
            conversation = k == 0;
            char *body = make_body(body_bytes);
            translate_only(d, body, iters, 0, &p[3 * k], &p[3 * k + 1]);
            translate_only(d, body, iters, 1, &p[3 * k + 2], &unused);
            free(body);
        }
        printf("%10s %14.1f %14.1f %14.1f %14.1f %14.1f %14.1f\n", DIALECTS[d], p[0], p[1], p[2], p[3], p[4], p[5]);
    }
    conversation = 0;
    printf("answer preparation (per trainer or upstream answer; replay lines once, at registration), p50 us:\n"
           "  every dialect %.1f, of which Messages %.1f, Responses %.1f, Gemini %.1f\n",
           prepare_p50(BENCH_ANSWER, 0, iters), prepare_p50(BENCH_ANSWER, 1, iters), prepare_p50(BENCH_ANSWER, 2, iters),
           prepare_p50(BENCH_ANSWER, 3, iters));
    return 0;
}

/* ---- memory ---------------------------------------------------------------------- */

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static char *http_text(const char *method, const char *url, const char *token, const char *body, long *status)
{
    CURL *h = curl_easy_init();
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    fclose(mem);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return out;
}

static const char TTOKEN[] = "bench-trainer-token-0123456789";

static int memory(int n, size_t body_bytes)
{
    int pfd[2];
    if (pipe(pfd))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        struct corral_gate_options o = {.struct_size = sizeof o, .trainer_listen = 1, .trainer_token = TTOKEN,
                                        .request_timeout_ms = 600000};
        struct corral_call call;
        corral_call_init(&call, 0);
        corral_gate *g = NULL;
        if (corral_gate_new(&o, &g, &call))
            _exit(1);
        char msg[512];
        int k = snprintf(msg, sizeof msg, "%s %s\n", corral_gate_url(g), corral_gate_trainer_url(g));
        if (write(pfd[1], msg, (size_t)k) != k)
            _exit(1);
        pause();
        _exit(0);
    }
    close(pfd[1]);
    char msg[512] = "";
    ssize_t got = read(pfd[0], msg, sizeof msg - 1);
    if (got <= 0)
        return 1;
    msg[got] = 0;
    char gurl[256], turl[256];
    sscanf(msg, "%255s %255s", gurl, turl);
    usleep(200000);
    long rss0 = rss_kb(pid);

    char *body = make_body(body_bytes);
    char **urls = calloc((size_t)n, sizeof *urls), **toks = calloc((size_t)n, sizeof *toks);
    for (int i = 0; i < n; i++) {
        char u[512];
        long st = 0;
        snprintf(u, sizeof u, "%s/v1/rollouts/mem-%d", turl, i);
        char *r = http_text("POST", u, TTOKEN, "", &st);
        cJSON *j = r ? cJSON_Parse(r) : NULL;
        free(r);
        if (st != 201 || !j)
            return 1;
        toks[i] = strdup(cJSON_GetObjectItem(j, "token")->valuestring);
        urls[i] = malloc(512);
        snprintf(urls[i], 512, "%s/chat/completions", cJSON_GetObjectItem(j, "base_url")->valuestring);
        cJSON_Delete(j);
    }
    long rss_reg = rss_kb(pid);

    /* one pending call per rollout */
    struct client *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    double *lat = calloc((size_t)n, sizeof *lat);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (int i = 0; i < n; i++) {
        cs[i] = (struct client){.url = urls[i], .token = toks[i], .body = body, .calls = 1, .lat = &lat[i]};
        pthread_create(&th[i], &at, client_main, &cs[i]);
    }
    char hu[512];
    snprintf(hu, sizeof hu, "%s/v1/health", turl);
    for (int tries = 0; tries < 600; tries++) {
        long st;
        char *r = http_text("GET", hu, TTOKEN, NULL, &st);
        cJSON *j = r ? cJSON_Parse(r) : NULL;
        free(r);
        int pending = j ? cJSON_GetObjectItem(j, "pending")->valueint : 0;
        cJSON_Delete(j);
        if (pending >= n)
            break;
        usleep(50000);
    }
    long rss_pend = rss_kb(pid);

    /* answer them all over the trainer API */
    char nu[512];
    snprintf(nu, sizeof nu, "%s/v1/requests/next?timeout=5", turl);
    for (int i = 0; i < n; i++) {
        long st;
        char *r = http_text("GET", nu, TTOKEN, NULL, &st);
        cJSON *j = r ? cJSON_Parse(r) : NULL;
        free(r);
        if (st != 200 || !j)
            break;
        char du[512];
        snprintf(du, sizeof du, "%s/v1/requests/%s/response", turl, cJSON_GetObjectItem(j, "id")->valuestring);
        cJSON_Delete(j);
        free(http_text("POST", du, TTOKEN, "{\"content\":\"done\",\"token_ids\":[1,2,3,4],\"logprobs\":[-1,-1,-1,-1]}", &st));
    }
    int errors = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        errors += cs[i].errors;
    }
    pthread_attr_destroy(&at);
    long rss_done = rss_kb(pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    printf("gate memory: %d rollouts, one pending call each of %zu bytes (errors: %d)\n", n, strlen(body), errors);
    printf("  RSS at start                 %8ld kB\n", rss0);
    printf("  after registering            %8ld kB  (%.1f kB per rollout)\n", rss_reg,
           (double)(rss_reg - rss0) / n);
    printf("  with one call pending each   %8ld kB  (%.1f kB per rollout)\n", rss_pend,
           (double)(rss_pend - rss0) / n);
    printf("  answered, transcript kept    %8ld kB  (%.1f kB per rollout)\n", rss_done,
           (double)(rss_done - rss0) / n);
    for (int i = 0; i < n; i++) {
        free(urls[i]);
        free(toks[i]);
    }
    free(urls);
    free(toks);
    free(cs);
    free(th);
    free(lat);
    free(body);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "latency") != 0 && strcmp(argv[1], "memory") != 0 &&
                     strcmp(argv[1], "dialects") != 0)) {
        fprintf(stderr, "usage: gate_bench latency [-n CALLS] [-b BODY_BYTES] [-c 1,16,128] [-t THINK_MS] [-T THREADS] [-d messages|responses|gemini]\n"
                        "       gate_bench dialects [-n CALLS] [-b BODY_BYTES] [-i TRANSLATIONS] [-S SPAN_MIN] [-p 1]\n"
                        "       gate_bench memory [-r ROLLOUTS] [-b BODY_BYTES]\n");
        return 2;
    }
    int calls = 200, rollouts = 128, iters = 2000;
    size_t body = 30000;
    int levels[16] = {1, 16, 128}, nlevels = 3;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            calls = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-b") == 0)
            body = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "-t") == 0)
            think_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-d") == 0)
            dialect = strcmp(argv[i + 1], "messages") == 0    ? 1
                      : strcmp(argv[i + 1], "responses") == 0 ? 2
                      : strcmp(argv[i + 1], "gemini") == 0    ? 3
                                                              : 0;
        else if (strcmp(argv[i], "-T") == 0)
            server_threads = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-p") == 0)
            padded = atoi(argv[i + 1]) != 0;
        else if (strcmp(argv[i], "-S") == 0)
            gate_spans_min = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-i") == 0)
            iters = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-r") == 0)
            rollouts = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-c") == 0) {
            nlevels = 0;
            for (char *s = strtok(argv[i + 1], ","); s && nlevels < 16; s = strtok(NULL, ","))
                levels[nlevels++] = atoi(s);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = strcmp(argv[1], "latency") == 0    ? latency(calls, body, levels, nlevels)
             : strcmp(argv[1], "dialects") == 0 ? dialects(calls, body, iters < 1 ? 1 : iters)
                                                : memory(rollouts, body);
    curl_global_cleanup();
    return rc;
}
