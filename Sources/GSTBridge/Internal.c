// What GSTBridge.c and GSTSender.c share (Internal.h): the callback gate, error copying, probing buffers.
#include "Internal.h"

#include <stdio.h>

void agst_gate_init(agst_gate *gate) {
    g_mutex_init(&gate->lock);
    g_cond_init(&gate->idle);
    gate->closing = FALSE;
    gate->running = 0;
}

gboolean agst_gate_enter(agst_gate *gate) {
    g_mutex_lock(&gate->lock);
    gboolean open = !gate->closing;
    if (open) gate->running += 1;
    g_mutex_unlock(&gate->lock);
    return open;
}

void agst_gate_leave(agst_gate *gate) {
    g_mutex_lock(&gate->lock);
    gate->running -= 1;
    g_cond_broadcast(&gate->idle);
    g_mutex_unlock(&gate->lock);
}

void agst_gate_close(agst_gate *gate) {
    g_mutex_lock(&gate->lock);
    gate->closing = TRUE;
    while (gate->running > 0) g_cond_wait(&gate->idle, &gate->lock);
    g_mutex_unlock(&gate->lock);
}

void agst_gate_clear(agst_gate *gate) {
    g_mutex_clear(&gate->lock);
    g_cond_clear(&gate->idle);
}

void agst_copy_error(char *error, size_t length, const char *message) {
    if (error && length > 0) snprintf(error, length, "%s", message);
}

void agst_probe_each_buffer(GstPadProbeInfo *info, GstBufferListFunc each, gpointer user_data) {
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        each(&buffer, 0, user_data);
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), each, user_data);
    }
}
