/*
 * sandbox_hf internals: the pure wire helpers (JobInfo, the sandbox
 * server's exec reply, shell quoting) that the fuzz targets drive.
 */
#ifndef CORRAL_HF_H
#define CORRAL_HF_H

#include <stddef.h>

/* The fields of a JobInfo we use.  Strings are malloc'ed. */
struct hf_job {
    char *id, *stage;
    char **labels;     /* "k=v", NULL-terminated (never NULL after a successful parse) */
};
/* Parse one JobInfo object (from text or an already parsed cJSON when obj
 * is not NULL); 0 or -1 (no id or no status.stage). */
int hf_parse_job(const char *body, size_t len, const void *obj, struct hf_job *out);
void hf_job_free(struct hf_job *j);
/* 1 if a job stage means the job has ended. */
int hf_stage_done(const char *stage);

/* The sandbox server's /exec reply {rc, stdout, stderr}. */
struct hf_exec {
    int rc;
    char *out, *err;
};
int hf_parse_exec(const char *body, size_t len, struct hf_exec *out);
void hf_exec_free(struct hf_exec *e);

/* The exit event of a /v1/exec NDJSON stream. */
struct hf_exit {
    int exit_code;     /* -1 when null */
    int signal;        /* 0 when null */
    int timed_out;
};
/* Find the exit event in an NDJSON body; 0 or -1 (none). */
int hf_parse_ndjson_exit(const char *body, size_t len, struct hf_exit *out);
/* Write the stdout/stderr events' data to the sinks (NULL = discard); 0 or
 * the sink's error. */
struct corral_sink;
int hf_ndjson_output(const char *body, size_t len, const struct corral_sink *out, const struct corral_sink *err);

/* Append `'s'` (single-quoted, ' written as '\'') to a malloc'ed string
 * *buf of length *len; -1 on allocation failure. */
int hf_shquote_append(char **buf, size_t *len, const char *s);
/* 1 if s is an environment variable name. */
int hf_env_name(const char *s, size_t n);

#endif
