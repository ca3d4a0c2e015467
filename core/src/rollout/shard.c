/*
 * Shards of a batch (docs/batches.md): which (task digest, attempt) pairs
 * one process of a split batch runs, and which shard a process is, from
 * the command line or a scheduler's environment.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "rollout/rollout_internal.h"

#define SHARD_MAX_COUNT 100000

unsigned corral_batch_shard_of(const char *task_digest, unsigned attempt, unsigned count)
{
    if (count <= 1)
        return 0;
    char key[CORRAL_TASK_DIGEST_LEN + 16];
    int n = snprintf(key, sizeof key, "%s#%u", task_digest ? task_digest : "", attempt);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    uint64_t h = 0;
    if (n > 0 && EVP_Digest(key, strlen(key), d, &dlen, EVP_sha256(), NULL) && dlen >= 8)
        for (int i = 0; i < 8; i++)
            h = h << 8 | d[i];
    return (unsigned)(h % count);
}

/* A variable of the environment as a number from min to max: 1 when set
 * and valid, 0 when unset, -1 (with why in call) when set but not so. */
static int env_number(const char *name, int64_t min, int64_t max, int64_t *out, struct corral_call *call)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (crl_parse_i64(v, min, max, out) != 0) {
        corral_call_fail(call, CORRAL_EINVAL, "--shard auto: %s='%.32s' is not a number from %lld to %lld", name, v,
                         (long long)min, (long long)max);
        return -1;
    }
    return 1;
}

/* --shard auto: Slurm's array variables, else Kubernetes' completion index
 * with the count given as auto/N. */
static int shard_auto(int64_t given, unsigned *index, unsigned *count, char *source, size_t cap,
                      struct corral_call *call)
{
    int64_t id, n, lo, hi, k;
    int has_id = env_number("SLURM_ARRAY_TASK_ID", 0, INT32_MAX, &id, call);
    int has_n = has_id > 0 ? env_number("SLURM_ARRAY_TASK_COUNT", 1, SHARD_MAX_COUNT, &n, call) : 0;
    int has_lo = has_id > 0 ? env_number("SLURM_ARRAY_TASK_MIN", 0, INT32_MAX, &lo, call) : 0;
    int has_hi = has_id > 0 ? env_number("SLURM_ARRAY_TASK_MAX", 0, INT32_MAX, &hi, call) : 0;
    if (has_id < 0 || has_n < 0 || has_lo < 0 || has_hi < 0)
        return CORRAL_EINVAL;
    if (has_id) {
        if (!has_lo)
            lo = 0;
        if (!has_n && has_hi)
            n = hi - lo + 1, has_n = hi >= lo;
        if (!has_n)
            return corral_call_fail(call, CORRAL_EINVAL, "--shard auto: SLURM_ARRAY_TASK_ID is set but neither "
                                    "SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN/MAX");
        if (given && given != n)
            return corral_call_fail(call, CORRAL_EINVAL, "--shard auto/%lld: the Slurm array has %lld tasks",
                                    (long long)given, (long long)n);
        if (id < lo || id - lo >= n)
            return corral_call_fail(call, CORRAL_EINVAL, "--shard auto: SLURM_ARRAY_TASK_ID %lld is not within "
                                    "the array's %lld tasks from %lld (a stepped --array is not supported)",
                                    (long long)id, (long long)n, (long long)lo);
        *index = (unsigned)(id - lo), *count = (unsigned)n;
        snprintf(source, cap, "SLURM_ARRAY_TASK_ID=%lld in an array of %lld from %lld", (long long)id, (long long)n,
                 (long long)lo);
        return 0;
    }
    int has_k = env_number("JOB_COMPLETION_INDEX", 0, SHARD_MAX_COUNT - 1, &k, call);
    if (has_k < 0)
        return CORRAL_EINVAL;
    if (!has_k)
        return corral_call_fail(call, CORRAL_EINVAL, "--shard auto: neither SLURM_ARRAY_TASK_ID nor "
                                "JOB_COMPLETION_INDEX is set");
    if (!given)
        return corral_call_fail(call, CORRAL_EINVAL, "--shard auto: JOB_COMPLETION_INDEX is set; give the "
                                "number of completions as --shard auto/N");
    if (k >= given)
        return corral_call_fail(call, CORRAL_EINVAL, "--shard auto/%lld: JOB_COMPLETION_INDEX %lld is not below it",
                                (long long)given, (long long)k);
    *index = (unsigned)k, *count = (unsigned)given;
    snprintf(source, cap, "JOB_COMPLETION_INDEX=%lld of %lld", (long long)k, (long long)given);
    return 0;
}

int corral_batch_shard_parse(const char *spec, unsigned *index, unsigned *count, char *source, size_t cap,
                             struct corral_call *call)
{
    char buf[64];
    if (!spec || !index || !count || !source || !cap || strlen(spec) >= sizeof buf)
        return corral_call_fail(call, CORRAL_EINVAL, "--shard wants I/N, auto or auto/N");
    snprintf(buf, sizeof buf, "%s", spec);
    source[0] = '\0';
    char *slash = strchr(buf, '/');
    int64_t i = 0, n = 0;
    if (slash)
        *slash = '\0';
    if (slash && crl_parse_i64(slash + 1, 1, SHARD_MAX_COUNT, &n) != 0)
        return corral_call_fail(call, CORRAL_EINVAL, "--shard %s: N must be a number from 1 to %d", spec,
                                SHARD_MAX_COUNT);
    if (strcmp(buf, "auto") == 0)
        return shard_auto(n, index, count, source, cap, call);
    if (!slash || crl_parse_i64(buf, 0, SHARD_MAX_COUNT - 1, &i) != 0 || i >= n)
        return corral_call_fail(call, CORRAL_EINVAL, "--shard %s: wants I/N with 0 <= I < N (or auto, auto/N)",
                                spec);
    *index = (unsigned)i, *count = (unsigned)n;
    snprintf(source, cap, "the command line");
    return 0;
}
