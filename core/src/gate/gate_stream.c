/*
 * A same-dialect upstream's stream relayed to the agent as it arrives
 * (docs/gate-dialects.md, "Same-dialect upstreams"; threading in
 * docs/gate.md, "Concurrency contract").  The upstream thread appends
 * bytes; the agent's connection reads them through a libmicrohttpd content
 * reader that suspends the connection when it has nothing to send and is
 * resumed by the next append or the end.  Both sides hold a reference;
 * every field is guarded by the gate lock, and libmicrohttpd is never
 * called with it held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"
#include "gate/gate_internal.h"

/* What the agent has not read yet may not grow past this (an agent that
 * stops reading ends the relay instead of the gate's memory). */
#define STREAM_MAX_UNSENT (16u * 1024u * 1024u)

struct gate_stream {
    struct gate_stream *next, *prev; /* g->streams */
    char rollout[130];
    struct corral_gate *g;
    struct MHD_Connection *conn; /* set when the agent's response starts */
    struct crl_buf out;          /* bytes not yet read by the agent from off */
    size_t off;
    int ended;                   /* the upstream side is done */
    int gone;                    /* the agent's response is over (sent or dropped) */
    int parked;                  /* the connection is suspended, waiting for bytes */
    int refs;
};

struct gate_stream *gate_stream_new(struct corral_gate *g, const char *rollout_id)
{
    struct gate_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->g = g;
    s->refs = 2; /* the upstream job's and the agent response's */
    snprintf(s->rollout, sizeof s->rollout, "%s", rollout_id);
    pthread_mutex_lock(&g->lock);
    s->next = g->streams;
    if (g->streams)
        g->streams->prev = s;
    g->streams = s;
    pthread_mutex_unlock(&g->lock);
    return s;
}

/* Drop one reference (under the lock). */
static void release_locked(struct gate_stream *s)
{
    if (--s->refs == 0) {
        if (s->prev)
            s->prev->next = s->next;
        else
            s->g->streams = s->next;
        if (s->next)
            s->next->prev = s->prev;
        crl_buf_free(&s->out);
        free(s);
    }
}

/* The connection to resume after the lock is released, or NULL. */
static struct MHD_Connection *unpark_locked(struct gate_stream *s)
{
    if (!s->parked)
        return NULL;
    s->parked = 0;
    return s->conn;
}

int gate_stream_push(struct gate_stream *s, const char *p, size_t n)
{
    struct corral_gate *g = s->g;
    pthread_mutex_lock(&g->lock);
    int rc = s->gone || s->ended || s->out.len - s->off + n > STREAM_MAX_UNSENT || crl_buf_add(&s->out, p, n) != 0 ? -1 : 0;
    struct MHD_Connection *wake = rc == 0 ? unpark_locked(s) : NULL;
    pthread_mutex_unlock(&g->lock);
    if (wake)
        MHD_resume_connection(wake);
    return rc;
}

void gate_stream_end(struct gate_stream *s, const char *tail)
{
    struct corral_gate *g = s->g;
    pthread_mutex_lock(&g->lock);
    if (tail && !s->gone && !s->ended)
        crl_buf_puts(&s->out, tail); /* out of memory: the stream just ends */
    s->ended = 1;
    struct MHD_Connection *wake = unpark_locked(s);
    release_locked(s);
    pthread_mutex_unlock(&g->lock);
    if (wake)
        MHD_resume_connection(wake);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct gate_stream *s = cls;
    struct corral_gate *g = s->g;
    pthread_mutex_lock(&g->lock);
    size_t have = s->out.len - s->off;
    if (have) {
        size_t n = have < max ? have : max;
        memcpy(buf, s->out.p + s->off, n);
        s->off += n;
        if (s->off == s->out.len)
            s->off = s->out.len = 0;
        pthread_mutex_unlock(&g->lock);
        return (ssize_t)n;
    }
    int ended = s->ended;
    pthread_mutex_unlock(&g->lock);
    if (ended)
        return MHD_CONTENT_READER_END_OF_STREAM;
    /* Nothing yet: suspend first, then look again under the lock.  Bytes
     * that came meanwhile found nothing parked, so this side resumes
     * itself; otherwise the next push or the end resumes it. */
    MHD_suspend_connection(s->conn);
    pthread_mutex_lock(&g->lock);
    int ready = s->out.len > s->off || s->ended;
    if (!ready)
        s->parked = 1;
    pthread_mutex_unlock(&g->lock);
    if (ready)
        MHD_resume_connection(s->conn);
    return 0;
}

static void reader_done(void *cls)
{
    struct gate_stream *s = cls;
    struct corral_gate *g = s->g;
    pthread_mutex_lock(&g->lock);
    s->gone = 1;
    release_locked(s);
    pthread_mutex_unlock(&g->lock);
}

enum MHD_Result gate_stream_send(struct gate_stream *s, struct MHD_Connection *conn, unsigned status,
                                 const char *type)
{
    pthread_mutex_lock(&s->g->lock);
    s->conn = conn;
    pthread_mutex_unlock(&s->g->lock);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, s, reader_done);
    if (!r) {
        reader_done(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type ? type : "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

void gate_stream_drop(struct gate_stream *s)
{
    reader_done(s);
}

void gate_streams_close(struct corral_gate *g, const char *rollout_id)
{
    for (;;) {
        pthread_mutex_lock(&g->lock);
        struct gate_stream *s = g->streams;
        while (s && (s->ended || strcmp(s->rollout, rollout_id) != 0))
            s = s->next;
        struct MHD_Connection *wake = NULL;
        if (s) {
            s->ended = 1;
            wake = unpark_locked(s);
        }
        pthread_mutex_unlock(&g->lock);
        if (!s)
            return;
        if (wake)
            MHD_resume_connection(wake);
    }
}
