// Only here so SwiftPM reads GStreamer's pkg-config flags (webrtcbin's library, the SDP helpers, GStreamer
// and GLib) for the targets that depend on this module. GSTBridge links appsink, RTP, SDP and video helpers.
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
