// webrtcbin behind a dumb C interface (see include/GSTBridge.h). Threads: webrtcbin's signals, the
// promises' replies, the bus's sync handler and appsink's callback all run on GStreamer's threads; every
// callback into the caller goes through the receiver's gate, so `agst_receiver_destroy` can wait them out.
#define GST_USE_UNSTABLE_API
#include "GSTBridge.h"
#include "Internal.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtcpbuffer.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/// How many (PTS, RTP timestamp) pairs are remembered between the network and the decoder's output:
/// at 30 fps, about four seconds of frames, far more than the decoder ever holds.
#define AGST_TIMESTAMP_RING 128

struct agst_receiver {
    GstElement *pipeline;
    GstElement *webrtc;
    agst_event_callback on_event;
    agst_frame_callback on_frame;
    agst_sender_report_callback on_sender_report;
    void *context;
    long maximum_pixels;

    agst_gate gate;
    GMutex lock;
    // Guarded by `lock`.
    gboolean connected_reported;
    gboolean failed_reported;
    gboolean decoder_linked;
    gboolean sender_reports_hooked;
    // The SSRC of the video the decoder is given; sender reports of other streams are not reported.
    guint32 media_ssrc;
    gboolean media_ssrc_known;
    // When the last sender report was handed out (g_get_monotonic_time, µs).
    gint64 last_report;
    // Only the app sink's streaming thread touches these: the frame packed without row padding,
    // handed out and then zeroed.
    guint8 *packed;
    size_t packed_length;
    GstClockTime ring_pts[AGST_TIMESTAMP_RING];
    guint32 ring_rtp[AGST_TIMESTAMP_RING];
    int ring_next;
    int ring_count;
};

static void report(agst_receiver *receiver, int kind, const char *text, int mline) {
    if (!agst_gate_enter(&receiver->gate)) return;
    receiver->on_event(receiver->context, kind, text, mline);
    agst_gate_leave(&receiver->gate);
}

/// Reports a failure once; later ones add nothing the caller can act on.
static void fail(agst_receiver *receiver, const char *text) {
    g_mutex_lock(&receiver->lock);
    gboolean first = !receiver->failed_reported;
    receiver->failed_reported = TRUE;
    g_mutex_unlock(&receiver->lock);
    if (first) report(receiver, AGST_EVENT_FAILED, text, -1);
}

int agst_initialize(char *error, size_t error_length) {
    GError *init_error = NULL;
    if (!gst_init_check(NULL, NULL, &init_error)) {
        agst_copy_error(error, error_length, init_error ? init_error->message : "GStreamer did not initialise");
        if (init_error) g_error_free(init_error);
        return -1;
    }
    // Element, and the Debian package that holds it.
    static const char *const required[][2] = {
        {"webrtcbin", "gstreamer1.0-plugins-bad"}, {"dtlssrtpdec", "gstreamer1.0-plugins-bad"},
        {"srtpdec", "gstreamer1.0-plugins-bad"},   {"nicesrc", "gstreamer1.0-nice"},
        {"decodebin", "gstreamer1.0-plugins-base"}, {"videoconvert", "gstreamer1.0-plugins-base"},
        {"appsink", "gstreamer1.0-plugins-base"},  {"rtpvp8depay", "gstreamer1.0-plugins-good"},
        {"vp8dec", "gstreamer1.0-plugins-good"},   {"rtpjitterbuffer", "gstreamer1.0-plugins-good"},
    };
    for (size_t index = 0; index < sizeof required / sizeof required[0]; index++) {
        GstElementFactory *factory = gst_element_factory_find(required[index][0]);
        if (!factory) {
            char message[160];
            snprintf(message, sizeof message, "GStreamer's %s element is missing (install %s)", required[index][0],
                     required[index][1]);
            agst_copy_error(error, error_length, message);
            return -1;
        }
        gst_object_unref(factory);
    }
    return 0;
}

// MARK: Timestamps between the network and the decoder

static void remember_timestamp(agst_receiver *receiver, GstClockTime pts, guint32 rtp, guint32 ssrc) {
    g_mutex_lock(&receiver->lock);
    receiver->media_ssrc = ssrc;
    receiver->media_ssrc_known = TRUE;
    int last = (receiver->ring_next + AGST_TIMESTAMP_RING - 1) % AGST_TIMESTAMP_RING;
    // A frame's packets share one timestamp; remember the frame once.
    if (receiver->ring_count == 0 || receiver->ring_pts[last] != pts || receiver->ring_rtp[last] != rtp) {
        receiver->ring_pts[receiver->ring_next] = pts;
        receiver->ring_rtp[receiver->ring_next] = rtp;
        receiver->ring_next = (receiver->ring_next + 1) % AGST_TIMESTAMP_RING;
        if (receiver->ring_count < AGST_TIMESTAMP_RING) receiver->ring_count += 1;
    }
    g_mutex_unlock(&receiver->lock);
}

static gboolean find_timestamp(agst_receiver *receiver, GstClockTime pts, guint32 *rtp) {
    gboolean found = FALSE;
    g_mutex_lock(&receiver->lock);
    for (int step = 1; step <= receiver->ring_count; step++) {
        int index = (receiver->ring_next + AGST_TIMESTAMP_RING - step) % AGST_TIMESTAMP_RING;
        if (receiver->ring_pts[index] == pts) {
            *rtp = receiver->ring_rtp[index];
            found = TRUE;
            break;
        }
    }
    g_mutex_unlock(&receiver->lock);
    return found;
}

static gboolean note_packet(GstBuffer **buffer, guint index, gpointer user_data) {
    (void)index;
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (GST_BUFFER_PTS_IS_VALID(*buffer) && gst_rtp_buffer_map(*buffer, GST_MAP_READ, &rtp)) {
        remember_timestamp(user_data, GST_BUFFER_PTS(*buffer), gst_rtp_buffer_get_timestamp(&rtp), gst_rtp_buffer_get_ssrc(&rtp));
        gst_rtp_buffer_unmap(&rtp);
    }
    return TRUE;
}

/// Sees every RTP packet leaving webrtcbin (after its jitter buffer, so with the PTS the decoder keeps).
static GstPadProbeReturn on_rtp(GstPad *pad, GstPadProbeInfo *info, gpointer user_data) {
    (void)pad;
    agst_probe_each_buffer(info, note_packet, user_data);
    return GST_PAD_PROBE_OK;
}

// MARK: Sender reports

/// Sender reports handed out at most this often (µs): a browser sends about one a second, and only the
/// newest is used, so a peer flooding RTCP costs the caller nothing more.
#define AGST_SENDER_REPORT_INTERVAL 100000

/// Every RTCP packet the session receives (decrypted): the video's sender reports go to the caller.
static void on_receiving_rtcp(GObject *session, GstBuffer *buffer, gpointer user_data) {
    (void)session;
    agst_receiver *receiver = user_data;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&receiver->lock);
    guint32 media_ssrc = receiver->media_ssrc;
    gboolean wanted = receiver->media_ssrc_known && now - receiver->last_report >= AGST_SENDER_REPORT_INTERVAL;
    g_mutex_unlock(&receiver->lock);
    GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
    if (!wanted || !gst_rtcp_buffer_map(buffer, GST_MAP_READ, &rtcp)) return;
    GstRTCPPacket packet;
    for (gboolean more = gst_rtcp_buffer_get_first_packet(&rtcp, &packet); more; more = gst_rtcp_packet_move_to_next(&packet)) {
        if (gst_rtcp_packet_get_type(&packet) != GST_RTCP_TYPE_SR) continue;
        guint32 ssrc = 0, rtp_time = 0, packets = 0, octets = 0;
        guint64 ntp_time = 0;
        gst_rtcp_packet_sr_get_sender_info(&packet, &ssrc, &ntp_time, &rtp_time, &packets, &octets);
        if (ssrc != media_ssrc) continue;
        g_mutex_lock(&receiver->lock);
        receiver->last_report = now;
        g_mutex_unlock(&receiver->lock);
        if (agst_gate_enter(&receiver->gate)) {
            receiver->on_sender_report(receiver->context, rtp_time, ntp_time);
            agst_gate_leave(&receiver->gate);
        }
    }
    gst_rtcp_buffer_unmap(&rtcp);
}

/// Listens to the RTCP of webrtcbin's first RTP session (one video track, bundled), once it exists.
static void hook_sender_reports(agst_receiver *receiver) {
    g_mutex_lock(&receiver->lock);
    gboolean hooked = receiver->sender_reports_hooked;
    g_mutex_unlock(&receiver->lock);
    if (hooked) return;
    GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(receiver->webrtc), "rtpbin");
    if (!rtpbin) return;
    GObject *session = NULL;
    g_signal_emit_by_name(rtpbin, "get-internal-session", 0u, &session);
    gst_object_unref(rtpbin);
    if (!session) return;
    g_mutex_lock(&receiver->lock);
    hooked = receiver->sender_reports_hooked;
    receiver->sender_reports_hooked = TRUE;
    g_mutex_unlock(&receiver->lock);
    if (!hooked) g_signal_connect(session, "on-receiving-rtcp", G_CALLBACK(on_receiving_rtcp), receiver);
    g_object_unref(session);
}

// MARK: Frames

static GstFlowReturn on_sample(GstAppSink *sink, gpointer user_data) {
    agst_receiver *receiver = user_data;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample) return GST_FLOW_EOS;
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    GstStructure *format = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
    int width = 0, height = 0;
    gst_structure_get_int(format, "width", &width);
    gst_structure_get_int(format, "height", &height);
    if (width <= 0 || height <= 0 || (long)width * height > receiver->maximum_pixels) {
        gst_sample_unref(sample);
        fail(receiver, "the video track's frames are larger than the server takes");
        return GST_FLOW_ERROR;
    }
    g_mutex_lock(&receiver->lock);
    gboolean first = !receiver->connected_reported;
    receiver->connected_reported = TRUE;
    g_mutex_unlock(&receiver->lock);
    if (first) report(receiver, AGST_EVENT_CONNECTED, "", -1);

    guint32 rtp = 0;
    gboolean has_rtp = GST_BUFFER_PTS_IS_VALID(buffer) && find_timestamp(receiver, GST_BUFFER_PTS(buffer), &rtp);
    GstVideoInfo info;
    GstVideoFrame frame;
    if (width % 2 != 0 || height % 2 != 0) {
        gst_sample_unref(sample);
        fail(receiver, "the video track's frames have an odd width or height");
        return GST_FLOW_ERROR;
    }
    if (buffer && gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
        gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
        // Tightly packed I420: planes without the row padding GStreamer may add.
        size_t length = (size_t)width * height * 3 / 2;
        if (receiver->packed_length != length) {
            g_free(receiver->packed);
            receiver->packed = g_malloc(length);
            receiver->packed_length = length;
        }
        guint8 *out = receiver->packed;
        for (int plane = 0; plane < 3; plane++) {
            int plane_width = plane == 0 ? width : width / 2, plane_height = plane == 0 ? height : height / 2;
            const guint8 *in = GST_VIDEO_FRAME_PLANE_DATA(&frame, plane);
            int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
            for (int row = 0; row < plane_height; row++) memcpy(out + (size_t)row * plane_width, in + (size_t)row * stride, plane_width);
            out += (size_t)plane_width * plane_height;
        }
        gst_video_frame_unmap(&frame);
        if (agst_gate_enter(&receiver->gate)) {
            receiver->on_frame(receiver->context, receiver->packed, length, width, height, rtp, has_rtp ? 1 : 0);
            agst_gate_leave(&receiver->gate);
        }
        // The picture does not outlive its hand-over in this buffer either.
        memset(receiver->packed, 0, length);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

/// decodebin found the decoder: raw video goes on through conversion to I420 into the app sink.
static void on_decoded_pad(GstElement *decodebin, GstPad *pad, gpointer user_data) {
    (void)decodebin;
    agst_receiver *receiver = user_data;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps) caps = gst_pad_query_caps(pad, NULL);
    gboolean video = caps && g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/x-raw");
    if (caps) gst_caps_unref(caps);
    if (!video) return;

    GstElement *convert = gst_element_factory_make("videoconvert", NULL);
    GstElement *sink = gst_element_factory_make("appsink", NULL);
    if (!convert || !sink) {
        if (convert) gst_object_unref(convert);
        if (sink) gst_object_unref(sink);
        fail(receiver, "GStreamer could not make videoconvert or appsink");
        return;
    }
    GstCaps *i420 = gst_caps_from_string("video/x-raw,format=I420");
    // One frame waits at most; a newer one replaces it (the engine samples what it needs anyway).
    g_object_set(sink, "caps", i420, "max-buffers", 1, "drop", TRUE, "sync", FALSE, "emit-signals", FALSE, NULL);
    gst_caps_unref(i420);
    GstAppSinkCallbacks callbacks = {0};
    callbacks.new_sample = on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, receiver, NULL);
    gst_bin_add_many(GST_BIN(receiver->pipeline), convert, sink, NULL);
    gst_element_sync_state_with_parent(convert);
    gst_element_sync_state_with_parent(sink);
    GstPad *convert_sink = gst_element_get_static_pad(convert, "sink");
    gboolean linked = gst_pad_link(pad, convert_sink) == GST_PAD_LINK_OK && gst_element_link(convert, sink);
    gst_object_unref(convert_sink);
    if (!linked) fail(receiver, "GStreamer could not link the decoder to the app sink");
}

/// webrtcbin has a new RTP stream: decode it (decodebin picks the depayloader and decoder).
static void on_incoming_stream(GstElement *webrtc, GstPad *pad, gpointer user_data) {
    (void)webrtc;
    agst_receiver *receiver = user_data;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    g_mutex_lock(&receiver->lock);
    gboolean already = receiver->decoder_linked;
    receiver->decoder_linked = TRUE;
    g_mutex_unlock(&receiver->lock);
    // One video track per participant; a second stream is not decoded.
    if (already) return;
    hook_sender_reports(receiver);
    GstElement *decodebin = gst_element_factory_make("decodebin", NULL);
    if (!decodebin) {
        fail(receiver, "GStreamer could not make decodebin");
        return;
    }
    g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_decoded_pad), receiver);
    gst_bin_add(GST_BIN(receiver->pipeline), decodebin);
    gst_element_sync_state_with_parent(decodebin);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp, receiver, NULL);
    GstPad *decode_sink = gst_element_get_static_pad(decodebin, "sink");
    if (gst_pad_link(pad, decode_sink) != GST_PAD_LINK_OK) fail(receiver, "GStreamer could not link the stream to decodebin");
    gst_object_unref(decode_sink);
}

// MARK: Signalling

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer user_data) {
    (void)webrtc;
    report(user_data, AGST_EVENT_CANDIDATE, candidate, (int)mline);
}

static void on_ice_state(GstElement *webrtc, GParamSpec *spec, gpointer user_data) {
    (void)spec;
    GstWebRTCICEConnectionState state;
    g_object_get(webrtc, "ice-connection-state", &state, NULL);
    if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) fail(user_data, "ICE failed: no network path to the browser");
}

static void on_answer_created(GstPromise *promise, gpointer user_data) {
    agst_receiver *receiver = user_data;
    GstWebRTCSessionDescription *answer = NULL;
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure *reply = gst_promise_get_reply(promise);
        if (reply) gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
    }
    gst_promise_unref(promise);
    if (!answer) {
        fail(receiver, "webrtcbin made no answer to the offer (no codec it can receive?)");
        return;
    }
    g_signal_emit_by_name(receiver->webrtc, "set-local-description", answer, NULL);
    gchar *text = gst_sdp_message_as_text(answer->sdp);
    gst_webrtc_session_description_free(answer);
    report(receiver, AGST_EVENT_ANSWER, text, -1);
    g_free(text);
}

static void on_offer_set(GstPromise *promise, gpointer user_data) {
    agst_receiver *receiver = user_data;
    GstPromiseResult result = gst_promise_wait(promise);
    const GstStructure *reply = gst_promise_get_reply(promise);
    gboolean refused = result != GST_PROMISE_RESULT_REPLIED || (reply && gst_structure_has_field(reply, "error"));
    gst_promise_unref(promise);
    if (refused) {
        fail(receiver, "webrtcbin refused the offer");
        return;
    }
    // The session exists once the offer is set: its first sender report is not missed.
    hook_sender_reports(receiver);
    GstPromise *created = gst_promise_new_with_change_func(on_answer_created, receiver, NULL);
    g_signal_emit_by_name(receiver->webrtc, "create-answer", NULL, created);
}

static GstBusSyncReply on_bus_message(GstBus *bus, GstMessage *message, gpointer user_data) {
    (void)bus;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        GError *error = NULL;
        gst_message_parse_error(message, &error, NULL);
        char text[256];
        snprintf(text, sizeof text, "%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
                 error ? error->message : "error");
        if (error) g_error_free(error);
        fail(user_data, text);
    }
    return GST_BUS_DROP;
}

// MARK: Life cycle

/// Limits ICE to `addresses`, through libnice's own API: webrtcbin exposes its NiceAgent but no setting
/// for this. libnice is already loaded by webrtcbin, so its functions are looked up there rather than
/// linked (Debian's libnice-dev would pull GTK's development packages in).
gboolean agst_restrict_addresses(GstElement *webrtc, const char *const *addresses, int count) {
    void *nice = dlopen("libnice.so.10", RTLD_NOW | RTLD_NOLOAD);
    if (!nice) return FALSE;
    void *(*address_new)(void) = (void *(*)(void))dlsym(nice, "nice_address_new");
    gboolean (*address_set)(void *, const gchar *) = (gboolean(*)(void *, const gchar *))dlsym(nice, "nice_address_set_from_string");
    void (*address_free)(void *) = (void (*)(void *))dlsym(nice, "nice_address_free");
    gboolean (*add_local)(GObject *, void *) = (gboolean(*)(GObject *, void *))dlsym(nice, "nice_agent_add_local_address");
    GstWebRTCICE *ice = NULL;
    GObject *agent = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (ice) {
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent")) g_object_get(ice, "agent", &agent, NULL);
        gst_object_unref(ice);
    }
    gboolean done = address_new && address_set && address_free && add_local && agent;
    for (int index = 0; done && index < count; index++) {
        void *address = address_new();
        done = address_set(address, addresses[index]) && add_local(agent, address);
        address_free(address);
    }
    if (agent) g_object_unref(agent);
    dlclose(nice);
    return done;
}

agst_receiver *agst_receiver_create(const agst_receiver_options *options, agst_event_callback on_event,
                                    agst_frame_callback on_frame, agst_sender_report_callback on_sender_report,
                                    void *context, char *error, size_t error_length) {
    GstElement *pipeline = gst_pipeline_new(NULL);
    GstElement *webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (!pipeline || !webrtc) {
        if (pipeline) gst_object_unref(pipeline);
        if (webrtc) gst_object_unref(webrtc);
        agst_copy_error(error, error_length, "GStreamer could not make webrtcbin");
        return NULL;
    }
    agst_receiver *receiver = g_new0(agst_receiver, 1);
    receiver->pipeline = pipeline;
    receiver->webrtc = webrtc;
    receiver->on_event = on_event;
    receiver->on_frame = on_frame;
    receiver->on_sender_report = on_sender_report;
    receiver->context = context;
    receiver->maximum_pixels = options->maximum_pixels;
    g_mutex_init(&receiver->lock);
    agst_gate_init(&receiver->gate);

    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    if (options->stun_server) g_object_set(webrtc, "stun-server", options->stun_server, NULL);
    for (int index = 0; index < options->turn_count; index++) {
        gboolean added = FALSE;
        g_signal_emit_by_name(webrtc, "add-turn-server", options->turn_servers[index], &added);
    }
    GstWebRTCICE *ice = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (ice) {
        // UDP only: a participant's camera never needs ICE over TCP here, and it halves the candidates.
        g_object_set(ice, "ice-tcp", FALSE, NULL);
        if (options->min_port > 0 && options->max_port >= options->min_port) {
            g_object_set(ice, "min-rtp-port", options->min_port, "max-rtp-port", options->max_port, NULL);
        }
        gst_object_unref(ice);
    }
    if (options->address_count > 0 && !agst_restrict_addresses(webrtc, options->addresses, options->address_count)) {
        gst_object_unref(webrtc);
        gst_object_unref(pipeline);
        g_mutex_clear(&receiver->lock);
        agst_gate_clear(&receiver->gate);
        g_free(receiver);
        agst_copy_error(error, error_length, "ICE could not be limited to the given local addresses");
        return NULL;
    }
    gst_bin_add(GST_BIN(pipeline), webrtc);
    g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), receiver);
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_incoming_stream), receiver);
    g_signal_connect(webrtc, "notify::ice-connection-state", G_CALLBACK(on_ice_state), receiver);
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, on_bus_message, receiver, NULL);
    gst_object_unref(bus);
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        agst_copy_error(error, error_length, "the receiving pipeline would not start");
        agst_receiver_destroy(receiver);
        return NULL;
    }
    return receiver;
}

int agst_receiver_offer(agst_receiver *receiver, const char *sdp, char *error, size_t error_length) {
    GstSDPMessage *message = NULL;
    if (gst_sdp_message_new_from_text(sdp, &message) != GST_SDP_OK || !message) {
        agst_copy_error(error, error_length, "the offer is not SDP");
        return -1;
    }
    if (gst_sdp_message_medias_len(message) == 0) {
        gst_sdp_message_free(message);
        agst_copy_error(error, error_length, "the offer has no media");
        return -1;
    }
    GstWebRTCSessionDescription *offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, message);
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_set, receiver, NULL);
    g_signal_emit_by_name(receiver->webrtc, "set-remote-description", offer, promise);
    gst_webrtc_session_description_free(offer);
    return 0;
}

void agst_receiver_add_candidate(agst_receiver *receiver, int mline, const char *candidate) {
    if (mline < 0) return;
    g_signal_emit_by_name(receiver->webrtc, "add-ice-candidate", (guint)mline, candidate);
}

void agst_receiver_destroy(agst_receiver *receiver) {
    if (!receiver) return;
    agst_gate_close(&receiver->gate);
    gst_element_set_state(receiver->pipeline, GST_STATE_NULL);
    GstBus *bus = gst_element_get_bus(receiver->pipeline);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(bus);
    gst_object_unref(receiver->pipeline);
    g_mutex_clear(&receiver->lock);
    agst_gate_clear(&receiver->gate);
    g_free(receiver->packed);
    g_free(receiver);
}
