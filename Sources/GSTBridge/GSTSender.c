// The sending side, for the benchmark's simulated participants: appsrc (VP8 frames encoded once, in
// memory) -> rtpvp8pay -> webrtcbin, offering one send-only video track. Threads and callbacks follow
// GSTBridge.c: every callback into the caller goes through the sender's gate.
#define GST_USE_UNSTABLE_API
#include "GSTBridge.h"
#include "Internal.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

struct agst_sender {
    GstElement *pipeline;
    GstElement *webrtc;
    GstElement *source;
    agst_event_callback on_event;
    agst_sent_callback on_sent;
    void *context;
    agst_gate gate;
    GMutex lock;
    // Guarded by `lock`.
    guint32 last_rtp;
    gboolean sent_any;
};

static void sender_report(agst_sender *sender, int kind, const char *text, int mline) {
    if (!agst_gate_enter(&sender->gate)) return;
    sender->on_event(sender->context, kind, text, mline);
    agst_gate_leave(&sender->gate);
}

/// Notes one RTP packet: a frame's first packet reports the frame (its PTS and RTP timestamp), once.
static gboolean note_sent(GstBuffer **buffer, guint index, gpointer user_data) {
    (void)index;
    agst_sender *sender = user_data;
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!GST_BUFFER_PTS_IS_VALID(*buffer) || !gst_rtp_buffer_map(*buffer, GST_MAP_READ, &rtp)) return TRUE;
    guint32 timestamp = gst_rtp_buffer_get_timestamp(&rtp);
    gst_rtp_buffer_unmap(&rtp);
    g_mutex_lock(&sender->lock);
    gboolean first = !sender->sent_any || sender->last_rtp != timestamp;
    sender->sent_any = TRUE;
    sender->last_rtp = timestamp;
    g_mutex_unlock(&sender->lock);
    if (first && agst_gate_enter(&sender->gate)) {
        sender->on_sent(sender->context, GST_BUFFER_PTS(*buffer), timestamp);
        agst_gate_leave(&sender->gate);
    }
    return TRUE;
}

/// Sees every packet leaving the payloader (which pushes a frame's packets as one list).
static GstPadProbeReturn on_payloaded(GstPad *pad, GstPadProbeInfo *info, gpointer user_data) {
    (void)pad;
    agst_probe_each_buffer(info, note_sent, user_data);
    return GST_PAD_PROBE_OK;
}

static void on_sender_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer user_data) {
    (void)webrtc;
    sender_report(user_data, AGST_EVENT_CANDIDATE, candidate, (int)mline);
}

static void on_offer_created(GstPromise *promise, gpointer user_data) {
    agst_sender *sender = user_data;
    GstWebRTCSessionDescription *offer = NULL;
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure *reply = gst_promise_get_reply(promise);
        if (reply) gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
    }
    gst_promise_unref(promise);
    if (!offer) {
        sender_report(sender, AGST_EVENT_FAILED, "webrtcbin made no offer", -1);
        return;
    }
    g_signal_emit_by_name(sender->webrtc, "set-local-description", offer, NULL);
    gchar *text = gst_sdp_message_as_text(offer->sdp);
    gst_webrtc_session_description_free(offer);
    sender_report(sender, AGST_EVENT_OFFER, text, -1);
    g_free(text);
}

static void on_negotiation_needed(GstElement *webrtc, gpointer user_data) {
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_created, user_data, NULL);
    g_signal_emit_by_name(webrtc, "create-offer", NULL, promise);
}

static void on_sender_ice_state(GstElement *webrtc, GParamSpec *spec, gpointer user_data) {
    (void)spec;
    GstWebRTCICEConnectionState state;
    g_object_get(webrtc, "ice-connection-state", &state, NULL);
    if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED || state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED) {
        sender_report(user_data, AGST_EVENT_CONNECTED, "", -1);
    }
    if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) sender_report(user_data, AGST_EVENT_FAILED, "ICE failed", -1);
}

static GstBusSyncReply on_sender_bus(GstBus *bus, GstMessage *message, gpointer user_data) {
    (void)bus;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        GError *error = NULL;
        gst_message_parse_error(message, &error, NULL);
        sender_report(user_data, AGST_EVENT_FAILED, error ? error->message : "error", -1);
        if (error) g_error_free(error);
    }
    return GST_BUS_DROP;
}

agst_sender *agst_sender_create(const agst_receiver_options *options, int width, int height, agst_event_callback on_event,
                                agst_sent_callback on_sent, void *context, char *error, size_t error_length) {
    char description[512];
    snprintf(description, sizeof description,
             "appsrc name=source is-live=true format=time do-timestamp=false "
             "caps=video/x-vp8,width=%d,height=%d,framerate=0/1 ! rtpvp8pay name=payloader pt=96 mtu=1200 ! "
             "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! "
             "webrtcbin name=webrtc bundle-policy=max-bundle",
             width, height);
    GError *parse_error = NULL;
    GstElement *pipeline = gst_parse_launch(description, &parse_error);
    if (!pipeline) {
        agst_copy_error(error, error_length, parse_error ? parse_error->message : "the sending pipeline would not build");
        if (parse_error) g_error_free(parse_error);
        return NULL;
    }
    if (parse_error) g_error_free(parse_error);
    agst_sender *sender = g_new0(agst_sender, 1);
    sender->pipeline = pipeline;
    sender->webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "webrtc");
    sender->source = gst_bin_get_by_name(GST_BIN(pipeline), "source");
    sender->on_event = on_event;
    sender->on_sent = on_sent;
    sender->context = context;
    g_mutex_init(&sender->lock);
    agst_gate_init(&sender->gate);
    GstWebRTCICE *ice = NULL;
    g_object_get(sender->webrtc, "ice-agent", &ice, NULL);
    if (ice) {
        g_object_set(ice, "ice-tcp", FALSE, NULL);
        gst_object_unref(ice);
    }
    if (options && options->stun_server) g_object_set(sender->webrtc, "stun-server", options->stun_server, NULL);
    if (options && options->address_count > 0 &&
        !agst_restrict_addresses(sender->webrtc, options->addresses, options->address_count)) {
        agst_copy_error(error, error_length, "ICE could not be limited to the given local addresses");
        agst_sender_destroy(sender);
        return NULL;
    }
    GstElement *payloader = gst_bin_get_by_name(GST_BIN(pipeline), "payloader");
    GstPad *payloaded = gst_element_get_static_pad(payloader, "src");
    gst_pad_add_probe(payloaded, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_payloaded, sender, NULL);
    gst_object_unref(payloaded);
    gst_object_unref(payloader);
    g_signal_connect(sender->webrtc, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), sender);
    g_signal_connect(sender->webrtc, "on-ice-candidate", G_CALLBACK(on_sender_candidate), sender);
    g_signal_connect(sender->webrtc, "notify::ice-connection-state", G_CALLBACK(on_sender_ice_state), sender);
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, on_sender_bus, sender, NULL);
    gst_object_unref(bus);
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        agst_copy_error(error, error_length, "the sending pipeline would not start");
        agst_sender_destroy(sender);
        return NULL;
    }
    return sender;
}

int agst_sender_answer(agst_sender *sender, const char *sdp, char *error, size_t error_length) {
    GstSDPMessage *message = NULL;
    if (gst_sdp_message_new_from_text(sdp, &message) != GST_SDP_OK || !message) {
        agst_copy_error(error, error_length, "the answer is not SDP");
        return -1;
    }
    GstWebRTCSessionDescription *answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, message);
    g_signal_emit_by_name(sender->webrtc, "set-remote-description", answer, NULL);
    gst_webrtc_session_description_free(answer);
    return 0;
}

void agst_sender_add_candidate(agst_sender *sender, int mline, const char *candidate) {
    if (mline < 0) return;
    g_signal_emit_by_name(sender->webrtc, "add-ice-candidate", (guint)mline, candidate);
}

int agst_sender_push(agst_sender *sender, const uint8_t *frame, size_t length, uint64_t pts_nanoseconds, int keyframe) {
    GstBuffer *buffer = gst_buffer_new_memdup(frame, length);
    GST_BUFFER_PTS(buffer) = pts_nanoseconds;
    GST_BUFFER_DTS(buffer) = pts_nanoseconds;
    if (!keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    return gst_app_src_push_buffer(GST_APP_SRC(sender->source), buffer) == GST_FLOW_OK ? 0 : -1;
}

void agst_sender_destroy(agst_sender *sender) {
    if (!sender) return;
    agst_gate_close(&sender->gate);
    gst_element_set_state(sender->pipeline, GST_STATE_NULL);
    GstBus *bus = gst_element_get_bus(sender->pipeline);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(bus);
    gst_object_unref(sender->webrtc);
    gst_object_unref(sender->source);
    gst_object_unref(sender->pipeline);
    g_mutex_clear(&sender->lock);
    agst_gate_clear(&sender->gate);
    g_free(sender);
}
