// What GSTBridge.c and GSTSender.c share; not part of the bridge's interface.
#ifndef AFFECT_GST_BRIDGE_INTERNAL_H
#define AFFECT_GST_BRIDGE_INTERNAL_H

#include <gst/gst.h>

/// Stands between GStreamer's threads and the caller's callbacks: a callback runs only while the gate
/// is open (`agst_gate_enter` returned TRUE, until `agst_gate_leave`), and closing it waits until none runs.
typedef struct {
    GMutex lock;
    GCond idle;
    // Guarded by `lock`.
    gboolean closing;
    int running;
} agst_gate;

void agst_gate_init(agst_gate *gate);
gboolean agst_gate_enter(agst_gate *gate);
void agst_gate_leave(agst_gate *gate);
/// Closes the gate and waits until no callback runs; none runs afterwards.
void agst_gate_close(agst_gate *gate);
void agst_gate_clear(agst_gate *gate);

void agst_copy_error(char *error, size_t length, const char *message);

/// Calls `each` for the probed buffer, or for every buffer of a probed list (payloaders push lists).
void agst_probe_each_buffer(GstPadProbeInfo *info, GstBufferListFunc each, gpointer user_data);

/// Limits webrtcbin's ICE to `addresses` (libnice's own API); FALSE when it could not.
gboolean agst_restrict_addresses(GstElement *webrtc, const char *const *addresses, int count);

#endif
