#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fakesrv.h"

int fakesrv_start(struct fakesrv *f, const char *script, const char *dir)
{
    memset(f, 0, sizeof *f);
    if (system("python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "python3 >= 3.8 not found: skipped\n");
        exit(77);
    }
    char pf[512];
    snprintf(pf, sizeof pf, "%s/fake-ports.json", dir);
    unlink(pf);
    f->pid = fork();
    if (f->pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        execlp("python3", "python3", script, "--port-file", pf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *fp = fopen(pf, "r");
        if (fp) {
            char line[512] = "";
            if (fgets(line, sizeof line, fp))
                f->ports = cJSON_Parse(line);
            fclose(fp);
            if (f->ports)
                return 0;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    fakesrv_stop(f);
    return -1;
}

int fakesrv_port(const struct fakesrv *f, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->ports, key);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

void fakesrv_stop(struct fakesrv *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
    cJSON_Delete(f->ports);
    f->ports = NULL;
}

struct body {
    char *p;
    size_t n;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct body *b = ud;
    b->p = realloc(b->p, b->n + sz * n + 1);
    memcpy(b->p + b->n, p, sz * n);
    b->n += sz * n;
    b->p[b->n] = '\0';
    return sz * n;
}

long fakesrv_call(const char *method, const char *url, const char *body, const char *token, cJSON **out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[512];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
    }
    struct body b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (out)
        *out = b.p ? cJSON_Parse(b.p) : NULL;
    free(b.p);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return status;
}
