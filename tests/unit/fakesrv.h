/* Test helpers: start a Python fake cloud server and talk to its admin API. */
#ifndef CORRAL_FAKESRV_H
#define CORRAL_FAKESRV_H

#include <sys/types.h>

#include <cjson/cJSON.h>

struct fakesrv {
    pid_t pid;
    cJSON *ports;   /* the JSON line the fake printed */
};

/* Start `python3 script` with --port-file in dir; 0 or -1.  Skips (exit 77)
 * when python3 is missing. */
int fakesrv_start(struct fakesrv *f, const char *script, const char *dir);
/* Port number named `key` in the fake's port line. */
int fakesrv_port(const struct fakesrv *f, const char *key);
/* SIGTERM the fake and reap it. */
void fakesrv_stop(struct fakesrv *f);
/* An HTTP request with a JSON body (or NULL) and optional bearer token.
 * Returns the status; *out gets the parsed body (NULL when not JSON). */
long fakesrv_call(const char *method, const char *url, const char *body, const char *token, cJSON **out);

#endif
