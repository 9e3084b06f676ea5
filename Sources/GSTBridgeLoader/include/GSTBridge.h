// A dumb C interface to GStreamer's webrtcbin: one receiving pipeline per participant
// (webrtcbin -> decodebin -> videoconvert -> appsink), frames handed out as I420 in memory.
// Nothing is written anywhere. Callbacks run on GStreamer's threads; after agst_receiver_destroy
// returns, none runs again.
//
// The functions are built into their own shared library (libGSTBridge.so, Sources/GSTBridge), which
// only a machine with GStreamer's development packages builds; the server and the CLI call them through
// the loader (GSTBridgeLoader.h: gstbridge_load, then the same functions as gstbridge_*), so `affect`
// itself links no GStreamer. The declarations below are the library's (AGST_IMPLEMENTATION); the types
// are everyone's.
#ifndef AFFECT_GST_BRIDGE_H
#define AFFECT_GST_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agst_receiver agst_receiver;

/// What a receiver reports besides frames.
typedef enum {
    /// `text` is the SDP answer to the offer.
    AGST_EVENT_ANSWER = 1,
    /// `text` is one local ICE candidate for m-line `mline`.
    AGST_EVENT_CANDIDATE = 2,
    /// The media connection is up (ICE connected and the first frame decoded).
    AGST_EVENT_CONNECTED = 3,
    /// The pipeline failed; `text` says why in words a log can take. No more frames follow.
    AGST_EVENT_FAILED = 4,
} agst_event_kind;

typedef void (*agst_event_callback)(void *context, int kind, const char *text, int mline);

/// One decoded frame, tightly packed I420 (`length` = width * height * 3 / 2; sizes are even). The
/// memory is GStreamer's and valid only during the call. `rtp_timestamp` is the RTP timestamp the
/// frame carried on the wire (90 kHz), when `has_rtp_timestamp` is 1.
typedef void (*agst_frame_callback)(void *context, const uint8_t *i420, size_t length, int width, int height,
                                    uint32_t rtp_timestamp, int has_rtp_timestamp);

/// One RTCP sender report of the video: the sender's wall clock (`ntp_time`, NTP's 64-bit fixed point:
/// seconds since 1900 and a fraction) when its RTP clock read `rtp_timestamp`.
typedef void (*agst_sender_report_callback)(void *context, uint32_t rtp_timestamp, uint64_t ntp_time);

typedef struct {
    /// "stun://host:port", or NULL.
    const char *stun_server;
    /// "turn(s)://user:password@host:port" each, or NULL when `turn_count` is 0.
    const char *const *turn_servers;
    int turn_count;
    /// Local addresses ICE may use ("127.0.0.1", "192.0.2.10"), or NULL when `address_count` is 0: then
    /// every interface but loopback (libnice's default).
    const char *const *addresses;
    int address_count;
    /// Local UDP ports ICE may use, both inclusive; 0 and 0 for any.
    unsigned min_port;
    unsigned max_port;
    /// Decoded frames with more pixels are not handed out: one AGST_EVENT_FAILED says so.
    long maximum_pixels;
} agst_receiver_options;

/// Initialises GStreamer once and checks that every element a receiver needs is installed.
/// Returns 0, or -1 with a message naming what is missing.
#ifdef AGST_IMPLEMENTATION
int agst_initialize(char *error, size_t error_length);
#endif

/// A receiver waiting for an offer. `context` is passed back to the callbacks unchanged.
#ifdef AGST_IMPLEMENTATION
agst_receiver *agst_receiver_create(const agst_receiver_options *options, agst_event_callback on_event,
                                    agst_frame_callback on_frame, agst_sender_report_callback on_sender_report,
                                    void *context, char *error, size_t error_length);
#endif

/// Takes the remote peer's SDP offer; the answer comes back as AGST_EVENT_ANSWER. Returns 0, or -1 with a
/// message when the SDP does not parse.
#ifdef AGST_IMPLEMENTATION
int agst_receiver_offer(agst_receiver *receiver, const char *sdp, char *error, size_t error_length);
#endif

/// Adds one of the remote peer's ICE candidates ("candidate:..." as in the SDP), for m-line `mline`.
#ifdef AGST_IMPLEMENTATION
void agst_receiver_add_candidate(agst_receiver *receiver, int mline, const char *candidate);
#endif

/// Stops the pipeline and frees it. Blocks until no callback is running; none runs afterwards.
#ifdef AGST_IMPLEMENTATION
void agst_receiver_destroy(agst_receiver *receiver);
#endif

// MARK: Sending (for `affect bench --webrtc`: many simulated participants' tracks)

typedef struct agst_sender agst_sender;

/// AGST_EVENT_* as for a receiver, with AGST_EVENT_OFFER's `text` the SDP offer to send to the server.
#define AGST_EVENT_OFFER 5

/// A frame left as RTP: the PTS it was pushed with (ns) and the RTP timestamp it carries.
typedef void (*agst_sent_callback)(void *context, uint64_t pts_nanoseconds, uint32_t rtp_timestamp);

/// A sender of already-encoded VP8 frames (width x height) over a webrtcbin that offers one video
/// track; the offer comes out as AGST_EVENT_OFFER once it is made, candidates as AGST_EVENT_CANDIDATE,
/// and AGST_EVENT_CONNECTED when ICE has connected.
#ifdef AGST_IMPLEMENTATION
agst_sender *agst_sender_create(const agst_receiver_options *options, int width, int height, agst_event_callback on_event,
                                agst_sent_callback on_sent, void *context, char *error, size_t error_length);
#endif

/// Takes the server's SDP answer. Returns 0, or -1 with a message.
#ifdef AGST_IMPLEMENTATION
int agst_sender_answer(agst_sender *sender, const char *sdp, char *error, size_t error_length);
#endif

/// Adds one of the server's ICE candidates.
#ifdef AGST_IMPLEMENTATION
void agst_sender_add_candidate(agst_sender *sender, int mline, const char *candidate);
#endif

/// Sends one encoded VP8 frame (copied) with its PTS; keyframe says whether it is one.
#ifdef AGST_IMPLEMENTATION
int agst_sender_push(agst_sender *sender, const uint8_t *frame, size_t length, uint64_t pts_nanoseconds, int keyframe);
#endif

/// Stops and frees the sender; no callback runs after it returns.
#ifdef AGST_IMPLEMENTATION
void agst_sender_destroy(agst_sender *sender);
#endif

#ifdef __cplusplus
}
#endif

#endif
