#!/usr/bin/python3
"""An RTSP server on 127.0.0.1 for stream tests, built on GStreamer's RTSP server (Debian packages).

Usage: /usr/bin/python3 rtsp_server.py VIDEO SECONDS
Serves the MPEG-4 video track of VIDEO (an MP4) at rtsp://127.0.0.1:PORT/clip in real time, printing PORT
when ready, and exits after SECONDS (taking its clients' connections with it). Frames never touch disk.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    video, seconds = sys.argv[1], float(sys.argv[2])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")
    factory = GstRtspServer.RTSPMediaFactory()
    # The talking-head clips carry MPEG-4 Part 2 video: repackage it as RTP without re-encoding.
    factory.set_launch(f'( filesrc location="{video}" ! qtdemux name=demux demux.video_0 ! queue ! mpeg4videoparse '
                       f'! rtpmp4vpay name=pay0 pt=96 config-interval=1 )')
    factory.set_shared(True)
    server.get_mount_points().add_factory("/clip", factory)
    server.attach(None)
    print(server.get_bound_port(), flush=True)
    loop = GLib.MainLoop()
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
