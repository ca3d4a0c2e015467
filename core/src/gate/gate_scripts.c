/*
 * Replay scripts shared between the rollouts of a gate.
 *
 * A batch registers the same script for every rollout (128 rollouts of one
 * replay file); each used to parse and keep its own copy.  The gate now
 * keeps each script once, found by the SHA-256 of its text (so two paths
 * to the same file, or a file and the same text inline, share too), and
 * counts its users.  A loaded script is never written again, so the MHD
 * threads read it without more locking than the gate lock they hold
 * anyway; the count and the list are the cache's own lock's.
 *
 * A script is parsed outside that lock by the first thread that asks for
 * it; a thread asking meanwhile waits for that parse instead of doing it
 * again.  The last release frees the script, from any thread, also under
 * gate->lock (the cache lock is never held while taking it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "gate/gate_internal.h"

int gate_scripts_init(struct gate_scripts *s)
{
    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return CORRAL_ENOMEM;
    if (pthread_cond_init(&s->loaded, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        return CORRAL_ENOMEM;
    }
    return 0;
}

void gate_scripts_destroy(struct gate_scripts *s)
{
    pthread_cond_destroy(&s->loaded);
    pthread_mutex_destroy(&s->lock);
}

/* Drop one reference under the cache lock; returns the script when that
 * was the last one (unlinked, for the caller to free outside the lock). */
static struct gate_script *unref_locked(struct gate_script *sc)
{
    if (--sc->refs > 0)
        return NULL;
    for (struct gate_script **pp = &sc->cache->head; *pp; pp = &(*pp)->next)
        if (*pp == sc) {
            *pp = sc->next;
            break;
        }
    return sc;
}

static void script_free(struct gate_script *sc)
{
    if (!sc)
        return;
    gate_replay_clear(&sc->replay);
    free(sc);
}

int gate_script_acquire(struct gate_scripts *s, const char *text, size_t len, struct gate_script **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    unsigned char digest[32];
    unsigned dlen = 0;
    if (!EVP_Digest(text, len, digest, &dlen, EVP_sha256(), NULL) || dlen != sizeof digest) {
        snprintf(err, errlen, "OpenSSL could not hash the replay script");
        return CORRAL_EINTERNAL;
    }
    pthread_mutex_lock(&s->lock);
    struct gate_script *sc = s->head;
    while (sc && memcmp(sc->digest, digest, sizeof digest) != 0)
        sc = sc->next;
    if (sc) {
        sc->refs++;
        while (sc->loading)
            pthread_cond_wait(&s->loaded, &s->lock);
    } else {
        sc = calloc(1, sizeof *sc);
        if (!sc) {
            pthread_mutex_unlock(&s->lock);
            snprintf(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
        sc->refs = 1;
        sc->loading = 1;
        memcpy(sc->digest, digest, sizeof digest);
        sc->cache = s;
        sc->next = s->head;
        s->head = sc;
        pthread_mutex_unlock(&s->lock);
        char why[sizeof sc->err] = "";
        int rc = gate_replay_parse(text, len, &sc->replay, why, sizeof why);
        pthread_mutex_lock(&s->lock);
        sc->rc = rc;
        memcpy(sc->err, why, sizeof why);
        sc->loading = 0;
        pthread_cond_broadcast(&s->loaded);
    }
    int rc = sc->rc;
    struct gate_script *dead = NULL;
    if (rc) {
        snprintf(err, errlen, "%s", sc->err);
        dead = unref_locked(sc);
    } else {
        *out = sc;
    }
    pthread_mutex_unlock(&s->lock);
    script_free(dead);
    return rc;
}

void gate_script_release(struct gate_script *sc)
{
    if (!sc)
        return;
    struct gate_scripts *s = sc->cache;
    pthread_mutex_lock(&s->lock);
    struct gate_script *dead = unref_locked(sc);
    pthread_mutex_unlock(&s->lock);
    script_free(dead);
}
