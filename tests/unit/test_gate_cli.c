/* `corral gate serve` as a process: the documented token derivation works
 * against it, the trainer API answers with the token from the environment,
 * SIGTERM stops it with status 0, bad command lines exit 2. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char SECRET[] = "test-secret-0123456789abcdef";
static const char TTOKEN[] = "test-trainer-token-0123456789";

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
    FILE *f = ud;
    return fwrite(p, s, n, f);
}

static long post(const char *url, const char *token, const char *body, char **out)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    CURL *c = curl_easy_init();
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long st = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    fclose(f);
    return st;
}

/* Run corral with args; stdout to a pipe (returned in *out_fd). */
static pid_t spawn(char *const argv[], int *out_fd)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2);
        execv(CORRAL_BIN, argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 10; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void test_serve(void **state)
{
    (void)state;
    char dir[] = "/tmp/corral-gate-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[256];
    snprintf(script, sizeof script, "%s/s.jsonl", dir);
    FILE *f = fopen(script, "w");
    fputs("{\"content\":\"from the cli gate\"}\n", f);
    fclose(f);
    char resp[300];
    snprintf(resp, sizeof resp, "replay:%s", script);

    setenv("CORRAL_GATE_SECRET", SECRET, 1);
    setenv("CORRAL_GATE_TRAINER_TOKEN", TTOKEN, 1);
    char *argv[] = {"corral", "gate", "serve", "--responder", resp, "--trainer-listen", "127.0.0.1:0", NULL};
    int fd;
    pid_t pid = spawn(argv, &fd);
    assert_true(pid > 0);
    char line[1024];
    FILE *out = fdopen(fd, "r");
    assert_non_null(fgets(line, sizeof line, out));
    cJSON *info = cJSON_Parse(line);
    assert_non_null(info);
    const char *url = cJSON_GetObjectItem(info, "url")->valuestring;
    const char *turl = cJSON_GetObjectItem(info, "trainer_url")->valuestring;
    /* nothing secret on stdout */
    assert_null(strstr(line, SECRET));
    assert_null(strstr(line, TTOKEN));

    /* the token as --help documents it: hex HMAC-SHA256(secret, id) */
    unsigned char md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)"roll-1", 6, md, &mdlen);
    char tok[65];
    for (int i = 0; i < 32; i++)
        snprintf(tok + 2 * i, 3, "%02x", md[i]);
    char u[512], *body = NULL;
    snprintf(u, sizeof u, "%s/rollout/roll-1/v1/chat/completions", url);
    long st = post(u, tok, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &body);
    assert_int_equal(st, 200);
    assert_non_null(strstr(body, "from the cli gate"));
    free(body);
    st = post(u, "not-the-token", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &body);
    assert_int_equal(st, 401);
    free(body);

    snprintf(u, sizeof u, "%s/v1/health", turl);
    st = post(u, TTOKEN, NULL, &body);
    assert_int_equal(st, 200);
    free(body);
    cJSON_Delete(info);

    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid, 5000), 0);
    fclose(out);
    unlink(script);
    rmdir(dir);
    unsetenv("CORRAL_GATE_SECRET");
    unsetenv("CORRAL_GATE_TRAINER_TOKEN");
}

static void test_usage(void **state)
{
    (void)state;
    int fd;
    char *bad[] = {"corral", "gate", "serve", "--bogus", NULL};
    pid_t pid = spawn(bad, &fd);
    assert_int_equal(wait_exit(pid, 5000), 2);
    close(fd);
    unsetenv("CORRAL_GATE_TRAINER_TOKEN");
    char *notoken[] = {"corral", "gate", "serve", "--trainer-listen", "127.0.0.1:0", NULL};
    pid = spawn(notoken, &fd);
    assert_int_equal(wait_exit(pid, 5000), 2);
    close(fd);
    char *badresp[] = {"corral", "gate", "serve", "--responder", "magic", NULL};
    pid = spawn(badresp, &fd);
    assert_int_equal(wait_exit(pid, 5000), 2);
    close(fd);
    char *help[] = {"corral", "gate", "serve", "--help", NULL};
    pid = spawn(help, &fd);
    char buf[8192] = "";
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    assert_int_equal(wait_exit(pid, 5000), 0);
    close(fd);
    assert_non_null(strstr(buf, "HMAC-SHA256"));
    assert_non_null(strstr(buf, "--trainer-token-file"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve),
        cmocka_unit_test(test_usage),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
