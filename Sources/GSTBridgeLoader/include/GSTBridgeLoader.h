// Loads the WebRTC bridge (libGSTBridge.so) at run time and calls it: `affect` links no GStreamer, so a
// server installed without GStreamer's WebRTC packages builds and runs, with WebRTC off. After
// gstbridge_load returned 0, each gstbridge_* function is the bridge's agst_* function of the same name
// (see GSTBridge.h for what each does); before, they fail (-1 or NULL) or do nothing.
#ifndef AFFECT_GST_BRIDGE_LOADER_H
#define AFFECT_GST_BRIDGE_LOADER_H

#include "GSTBridge.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Loads the bridge library at `path` and resolves every function; 0, or -1 with a message. Call once
/// (the caller serialises it); a later call after success returns 0 at once.
int gstbridge_load(const char *path, char *error, size_t error_length);

int gstbridge_initialize(char *error, size_t error_length);
agst_receiver *gstbridge_receiver_create(const agst_receiver_options *options, agst_event_callback on_event,
                                         agst_frame_callback on_frame, agst_sender_report_callback on_sender_report,
                                         void *context, char *error, size_t error_length);
int gstbridge_receiver_offer(agst_receiver *receiver, const char *sdp, char *error, size_t error_length);
void gstbridge_receiver_add_candidate(agst_receiver *receiver, int mline, const char *candidate);
void gstbridge_receiver_destroy(agst_receiver *receiver);
agst_sender *gstbridge_sender_create(const agst_receiver_options *options, int width, int height, agst_event_callback on_event,
                                     agst_sent_callback on_sent, void *context, char *error, size_t error_length);
int gstbridge_sender_answer(agst_sender *sender, const char *sdp, char *error, size_t error_length);
void gstbridge_sender_add_candidate(agst_sender *sender, int mline, const char *candidate);
int gstbridge_sender_push(agst_sender *sender, const uint8_t *frame, size_t length, uint64_t pts_nanoseconds, int keyframe);
void gstbridge_sender_destroy(agst_sender *sender);

#ifdef __cplusplus
}
#endif

#endif
