/*
 * Host-wide limits per sandbox backend (docs/batches.md "Shared limits"):
 * max_concurrent and max_creates_per_second in the backend's section of
 * the configuration hold for every corral process of this host together,
 * through files in the state directory's limits/:
 *   <backend>.slot.<k>  one per concurrent sandbox; a process holds an
 *                       flock(2) on one for as long as its handle lives,
 *                       so a crashed process frees its slot at once (a
 *                       rollout's sandboxes share the slot of its first);
 *   <backend>.rate      the rate limiter's state (a GCRA token bucket: the
 *                       next theoretical create time, CLOCK_MONOTONIC ms),
 *                       read and written under its flock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/internal.h"
#include "sandbox/sandbox_internal.h"

#define WAIT_STEP_MS 50

static void nap(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait a step unless the call is over: 0, or its status. */
static int step(struct corral_call *call, const char *backend, const char *what)
{
    if (corral_call_cancelled(call))
        return corral_call_fail(call, CORRAL_ECANCELED, "cancelled while waiting for %s of backend %s", what,
                                backend);
    if (corral_call_remaining_ms(call) <= WAIT_STEP_MS)
        return corral_call_fail(call, CORRAL_ETIMEDOUT, "timed out waiting for %s of backend %s (its shared "
                                "limit, docs/batches.md)", what, backend);
    nap(WAIT_STEP_MS);
    return 0;
}

/* One of the backend's max slots, held with flock until *fd is closed. */
static int take_slot(const char *dir, const char *backend, int64_t max, int *fd, struct corral_call *call)
{
    int logged = 0;
    for (;;) {
        for (int64_t k = 0; k < max; k++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s.slot.%lld", dir, backend, (long long)k);
            int f = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (f < 0)
                return corral_call_fail(call, CORRAL_EIO, "%s: %s", p, strerror(errno));
            if (flock(f, LOCK_EX | LOCK_NB) == 0) {
                *fd = f;
                return 0;
            }
            close(f);
        }
        if (!logged++)
            corral_log(CORRAL_LOG_INFO, "sandbox", "%s: %lld sandboxes in flight on this host (max_concurrent): "
                       "waiting", backend, (long long)max);
        int rc = step(call, backend, "a concurrency slot");
        if (rc)
            return rc;
    }
}

/* A create token of the backend's rate: GCRA with a burst of one second's
 * worth (at least 1). */
static int take_token(const char *dir, const char *backend, double rate, struct corral_call *call)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s.rate", dir, backend);
    int f = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0)
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", p, strerror(errno));
    double interval = 1000.0 / rate, burst = rate < 1 ? 1 : floor(rate);
    int64_t tau = (int64_t)((burst - 1) * interval);
    int logged = 0, rc = 0;
    for (;;) {
        if (flock(f, LOCK_EX) != 0) {
            rc = corral_call_fail(call, CORRAL_EIO, "%s: lock: %s", p, strerror(errno));
            break;
        }
        char buf[32] = "";
        ssize_t n = pread(f, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        int64_t now = corral_now_ms(), tat;
        /* Unreadable, or from before a reboot (far in the future): start afresh. */
        if (crl_parse_i64(buf, 0, INT64_MAX / 2, &tat) != 0 || tat > now + tau + (int64_t)interval + 1000)
            tat = now;
        if (tat < now)
            tat = now;
        int64_t wait = tat - tau - now;
        if (wait <= 0) {
            int len = snprintf(buf, sizeof buf, "%lld\n", (long long)(tat + (int64_t)ceil(interval)));
            if (ftruncate(f, 0) != 0 || pwrite(f, buf, (size_t)len, 0) != len)
                rc = corral_call_fail(call, CORRAL_EIO, "%s: %s", p, strerror(errno));
            flock(f, LOCK_UN);
            break;
        }
        flock(f, LOCK_UN);
        if (!logged++)
            corral_log(CORRAL_LOG_INFO, "sandbox", "%s: %g creates per second on this host "
                       "(max_creates_per_second): waiting %lld ms", backend, rate, (long long)wait);
        if (corral_call_cancelled(call) || corral_call_remaining_ms(call) <= wait) {
            rc = step(call, backend, "a create token");
            if (rc)
                break;
        }
        nap(wait < WAIT_STEP_MS ? wait : WAIT_STEP_MS);
    }
    close(f);
    return rc;
}

/* The slots this process holds, by rollout: a rollout's sandboxes (the
 * agent's and its verifier's, which exist at once) share one, else two
 * rollouts holding the last slots would each wait for a second. */
struct crl_limit_slot {
    struct crl_limit_slot *next;
    char rollout[128];
    int fd, refs;
};
static struct crl_limit_slot *held;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of `rollout` already held in this process (one more reference), or NULL. */
static struct crl_limit_slot *shared_slot(const char *backend, const char *rollout)
{
    if (!*rollout)
        return NULL;
    pthread_mutex_lock(&held_lock);
    struct crl_limit_slot *s = held;
    char key[128];
    snprintf(key, sizeof key, "%s/%s", backend, rollout);
    while (s && strcmp(s->rollout, key) != 0)
        s = s->next;
    if (s)
        s->refs++;
    pthread_mutex_unlock(&held_lock);
    return s;
}

int crl_sandbox_limits_acquire(corral_ctx *ctx, const char *backend, const char *rollout,
                               struct crl_limit_slot **slot, struct corral_call *call)
{
    *slot = NULL;
    const cJSON *sec = crl_config_section(&ctx->config, CORRAL_PLUGIN_SANDBOX, backend);
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(sec, "max_concurrent");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(sec, "max_creates_per_second");
    if (!cJSON_IsNumber(mc) && !cJSON_IsNumber(rate))
        return 0;
    char dir[PATH_MAX - 64];
    if (crl_state_root(dir, sizeof dir - 8) != 0)
        return corral_call_fail(call, CORRAL_EINVAL, "no state directory for the shared limits of backend %s "
                                "(set CORRAL_STATE_DIR to an absolute path)", backend);
    mkdir(dir, 0700);
    strcat(dir, "/limits");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", dir, strerror(errno));
    int rc = 0;
    if (cJSON_IsNumber(mc) && !(*slot = shared_slot(backend, rollout))) {
        struct crl_limit_slot *s = calloc(1, sizeof *s);
        if (!s)
            return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        snprintf(s->rollout, sizeof s->rollout, "%s/%s", backend, rollout);
        s->refs = 1;
        if ((rc = take_slot(dir, backend, (int64_t)mc->valuedouble, &s->fd, call)) != 0) {
            free(s);
            return rc;
        }
        pthread_mutex_lock(&held_lock);
        if (*rollout) {
            s->next = held;
            held = s;
        }
        pthread_mutex_unlock(&held_lock);
        *slot = s;
    }
    if (cJSON_IsNumber(rate))
        rc = take_token(dir, backend, rate->valuedouble, call);
    if (rc) {
        crl_sandbox_limits_release(*slot);
        *slot = NULL;
    }
    return rc;
}

void crl_sandbox_limits_release(struct crl_limit_slot *slot)
{
    if (!slot)
        return;
    pthread_mutex_lock(&held_lock);
    int last = --slot->refs == 0;
    for (struct crl_limit_slot **p = &held; last && *p; p = &(*p)->next)
        if (*p == slot) {
            *p = slot->next;
            break;
        }
    pthread_mutex_unlock(&held_lock);
    if (last) {
        close(slot->fd);
        free(slot);
    }
}
