// The bridge's functions, looked up in libGSTBridge.so once (see GSTBridgeLoader.h). The table is
// written only by gstbridge_load, which the caller serialises and calls before any other function here;
// it is read-only afterwards, and the library is never unloaded.
#include "GSTBridgeLoader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static struct {
    int loaded;
    int (*initialize)(char *, size_t);
    agst_receiver *(*receiver_create)(const agst_receiver_options *, agst_event_callback, agst_frame_callback,
                                      agst_sender_report_callback, void *, char *, size_t);
    int (*receiver_offer)(agst_receiver *, const char *, char *, size_t);
    void (*receiver_add_candidate)(agst_receiver *, int, const char *);
    void (*receiver_destroy)(agst_receiver *);
    agst_sender *(*sender_create)(const agst_receiver_options *, int, int, agst_event_callback, agst_sent_callback, void *,
                                  char *, size_t);
    int (*sender_answer)(agst_sender *, const char *, char *, size_t);
    void (*sender_add_candidate)(agst_sender *, int, const char *);
    int (*sender_push)(agst_sender *, const uint8_t *, size_t, uint64_t, int);
    void (*sender_destroy)(agst_sender *);
} bridge;

static void copy_message(char *error, size_t length, const char *message) {
    if (!error || length == 0) return;
    snprintf(error, length, "%s", message ? message : "unknown error");
}

int gstbridge_load(const char *path, char *error, size_t error_length) {
    if (bridge.loaded) return 0;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        copy_message(error, error_length, dlerror());
        return -1;
    }
    struct { void **slot; const char *name; } symbols[] = {
        {(void **)&bridge.initialize, "agst_initialize"},
        {(void **)&bridge.receiver_create, "agst_receiver_create"},
        {(void **)&bridge.receiver_offer, "agst_receiver_offer"},
        {(void **)&bridge.receiver_add_candidate, "agst_receiver_add_candidate"},
        {(void **)&bridge.receiver_destroy, "agst_receiver_destroy"},
        {(void **)&bridge.sender_create, "agst_sender_create"},
        {(void **)&bridge.sender_answer, "agst_sender_answer"},
        {(void **)&bridge.sender_add_candidate, "agst_sender_add_candidate"},
        {(void **)&bridge.sender_push, "agst_sender_push"},
        {(void **)&bridge.sender_destroy, "agst_sender_destroy"},
    };
    for (size_t index = 0; index < sizeof symbols / sizeof symbols[0]; index++) {
        *symbols[index].slot = dlsym(library, symbols[index].name);
        if (!*symbols[index].slot) {
            char message[160];
            snprintf(message, sizeof message, "the WebRTC bridge library has no %s (built from other sources?)", symbols[index].name);
            copy_message(error, error_length, message);
            memset(&bridge, 0, sizeof bridge);
            return -1;
        }
    }
    bridge.loaded = 1;
    return 0;
}

int gstbridge_initialize(char *error, size_t error_length) {
    if (!bridge.loaded) {
        copy_message(error, error_length, "the WebRTC bridge is not loaded");
        return -1;
    }
    return bridge.initialize(error, error_length);
}

agst_receiver *gstbridge_receiver_create(const agst_receiver_options *options, agst_event_callback on_event,
                                         agst_frame_callback on_frame, agst_sender_report_callback on_sender_report,
                                         void *context, char *error, size_t error_length) {
    if (!bridge.loaded) {
        copy_message(error, error_length, "the WebRTC bridge is not loaded");
        return NULL;
    }
    return bridge.receiver_create(options, on_event, on_frame, on_sender_report, context, error, error_length);
}

int gstbridge_receiver_offer(agst_receiver *receiver, const char *sdp, char *error, size_t error_length) {
    if (!bridge.loaded) return -1;
    return bridge.receiver_offer(receiver, sdp, error, error_length);
}

void gstbridge_receiver_add_candidate(agst_receiver *receiver, int mline, const char *candidate) {
    if (bridge.loaded) bridge.receiver_add_candidate(receiver, mline, candidate);
}

void gstbridge_receiver_destroy(agst_receiver *receiver) {
    if (bridge.loaded) bridge.receiver_destroy(receiver);
}

agst_sender *gstbridge_sender_create(const agst_receiver_options *options, int width, int height, agst_event_callback on_event,
                                     agst_sent_callback on_sent, void *context, char *error, size_t error_length) {
    if (!bridge.loaded) {
        copy_message(error, error_length, "the WebRTC bridge is not loaded");
        return NULL;
    }
    return bridge.sender_create(options, width, height, on_event, on_sent, context, error, error_length);
}

int gstbridge_sender_answer(agst_sender *sender, const char *sdp, char *error, size_t error_length) {
    if (!bridge.loaded) return -1;
    return bridge.sender_answer(sender, sdp, error, error_length);
}

void gstbridge_sender_add_candidate(agst_sender *sender, int mline, const char *candidate) {
    if (bridge.loaded) bridge.sender_add_candidate(sender, mline, candidate);
}

int gstbridge_sender_push(agst_sender *sender, const uint8_t *frame, size_t length, uint64_t pts_nanoseconds, int keyframe) {
    if (!bridge.loaded) return -1;
    return bridge.sender_push(sender, frame, length, pts_nanoseconds, keyframe);
}

void gstbridge_sender_destroy(agst_sender *sender) {
    if (bridge.loaded) bridge.sender_destroy(sender);
}
