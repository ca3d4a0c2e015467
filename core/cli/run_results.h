/*
 * corral run's results file for batches (docs/batches.md): shards append
 * to it, --resume reads what it holds, and its manifest (run_manifest.c)
 * says which run it belongs to.
 */
#ifndef CORRAL_CLI_RUN_RESULTS_H
#define CORRAL_CLI_RUN_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The options recorded in a manifest: those that change what a rollout
 * does (not --concurrency, --shard, --retries or where results go). */
struct cli_manifest_options {
    const char *agent, *sandbox, *model, *model_name, *image, *verify_in;
    int64_t timeout_s, upstream_max_tokens;
    double timeout_multiplier;
    unsigned upstream_max_n;
    double agent_timeout_multiplier, verifier_timeout_multiplier, agent_setup_timeout_multiplier;
};

/* The manifest of a run over tasks with these digests (any order,
 * repeats allowed): a new JSON object the caller deletes; NULL when out
 * of memory. */
cJSON *cli_manifest_new(const struct cli_manifest_options *m, char *const *digests, size_t n);
/* Compare a manifest file's bytes (untrusted) with `want` (an option the
 * file lacks, from an older corral, counts as unset): 0 the same run, 1 another run (why says the first difference), -1 not a manifest.
 * The caller owns every argument. */
int cli_manifest_check(const char *have, size_t len, const cJSON *want, char *why, size_t cap);

/* A pair --resume does not run again: "DIGEST#ATTEMPT", and whether its
 * result has an error. */
struct cli_done {
    char *key;
    int errored;
};

/* An open results file (fd -1: stdout) and what --resume found in it. */
struct cli_results {
    const char *path;     /* --out, or NULL for stdout */
    int fd;
    struct cli_done *done; /* sorted by key */
    size_t n_done;
};

/* Open `path` for appending results: with resume, check or write its
 * manifest, drop a torn last line (saying so), and list the pairs whose
 * latest result needs no re-run (no error; with resume_errors an error
 * does; a cancelled one always does); without, replace the file and its
 * manifest.  Holds the file's lock only while doing so.  0, or -1 after
 * printing why.  The caller closes it with cli_results_close. */
int cli_results_open(struct cli_results *r, const char *path, const cJSON *manifest, int resume, int resume_errors);
/* What cli_results_open does with a results file's bytes (untrusted; the
 * torn last line already dropped): read them with the report library and
 * add to r->done the pairs that need no re-run.  0, or -1 after printing
 * why (a line that is not a result, out of memory). */
int cli_results_scan(struct cli_results *r, const char *data, size_t len, int resume_errors);
/* 0 when the pair is to run, 1 when its result is in the file already
 * (cli_results_open), 2 when that result has an error. */
int cli_results_done(const struct cli_results *r, const char *digest, unsigned attempt);
/* Append one result line: one write() under the file's lock, then
 * fsync, so that shards can share the file (stdout when r->fd is -1).
 * 0, or -1 (the caller reports it). */
int cli_results_append(struct cli_results *r, const char *json);
/* Close the file and free the list; 0, or -1 when closing failed. */
int cli_results_close(struct cli_results *r);

#endif
