/* lg_zpub — see lg_zpub.h. */
#include "lg_zpub.h"

#include "lg_pub.h"
#include "rtmesh.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rtm_lg_zpub {
    rtm_lg_pub_t *p; /* the publisher this serves (loop thread) */
    rtmesh_t *mesh;  /* used by the thread only */
    pthread_t thread;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    bool job, quit;
    char app[128], channel[128], data[RTM_LG_MAX_PAYLOAD + 64];
    size_t len;
    int result;      /* the last publish's, read by the loop after the async */
    uv_async_t done; /* the thread -> the loop */
};

static void *s_thread(void *arg)
{
    rtm_lg_zpub_t *z = arg;
    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (!z->job && !z->quit)
            pthread_cond_wait(&z->cv, &z->mu);
        if (z->quit)
            break;
        pthread_mutex_unlock(&z->mu);
        const char *channels[] = {z->channel};
        rtmesh_event_t ev = {.channels = channels,
                             .n_channels = 1,
                             .name = "bench",
                             .data = z->data,
                             .data_len = z->len};
        char why[256];
        int rc = rtmesh_publish(z->mesh, z->app, &ev, why, sizeof why);
        if (rc < 0)
            fprintf(stderr, "loadgen: publish via librtmesh: %s: %s\n", rtmesh_strerror(rc), why);
        pthread_mutex_lock(&z->mu);
        z->result = rc;
        z->job = false;
        uv_async_send(&z->done);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

static void s_on_done(uv_async_t *a)
{
    rtm_lg_zpub_t *z = a->data;
    pthread_mutex_lock(&z->mu);
    bool idle = !z->job;
    int rc = z->result;
    pthread_mutex_unlock(&z->mu);
    if (idle && z->p->busy)
        rtm_lg_pub_answered(z->p, rc == 0);
}

rtm_lg_zpub_t *rtm_lg_zpub_new(rtm_lg_pub_t *p)
{
    rtm_lg_zpub_t *z = calloc(1, sizeof *z);
    if (!z)
        abort();
    z->p = p;
    snprintf(z->app, sizeof z->app, "%s", p->lg->opt.app_id);
    rtmesh_options_t opt = {.brokers = p->lg->opt.brokers};
    char err[512];
    if (rtmesh_new(&opt, &z->mesh, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: --brokers: %s\n", err);
        free(z);
        return NULL;
    }
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv, NULL);
    uv_async_init(p->lg->loop, &z->done, s_on_done);
    z->done.data = z;
    if (pthread_create(&z->thread, NULL, s_thread, z) != 0)
        abort();
    return z;
}

void rtm_lg_zpub_send(rtm_lg_zpub_t *z, const char *channel, const char *data, size_t len)
{
    pthread_mutex_lock(&z->mu);
    snprintf(z->channel, sizeof z->channel, "%s", channel);
    memcpy(z->data, data, len < sizeof z->data ? len : sizeof z->data);
    z->len = len < sizeof z->data ? len : sizeof z->data;
    z->job = true;
    pthread_cond_signal(&z->cv);
    pthread_mutex_unlock(&z->mu);
}

static void s_on_closed(uv_handle_t *h)
{
    free(h->data);
}

void rtm_lg_zpub_close(rtm_lg_zpub_t *z)
{
    pthread_mutex_lock(&z->mu);
    z->quit = true;
    pthread_cond_signal(&z->cv);
    pthread_mutex_unlock(&z->mu);
    pthread_join(z->thread, NULL);
    rtmesh_destroy(&z->mesh);
    pthread_cond_destroy(&z->cv);
    pthread_mutex_destroy(&z->mu);
    uv_close((uv_handle_t *)&z->done, s_on_closed);
}
