#!/usr/bin/env python3
"""A small HTTP Motion JPEG server on 127.0.0.1 for stream tests.

Usage: mjpeg_server.py VIDEO FRAMES MODE [CLIENTS]
Encodes the first FRAMES frames of VIDEO to JPEG with ffmpeg (in memory,
through a pipe), prints the port it listens on, serves them to one client as
multipart/x-mixed-replace at 25 frames per second, then either closes the
connection (MODE=end) or keeps it open without sending anything (MODE=stall)
until the client closes it (at most 30 s). MODE=garbage sends random bytes instead of
video. With CLIENTS > 1 it serves that many connections one after another (for
reconnection tests). Frames never touch disk.
"""

import os
import socket
import subprocess
import sys
import time


def jpeg_frames(video, count):
    data = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", video, "-frames:v", str(count),
                           "-c:v", "mjpeg", "-q:v", "4", "-f", "mjpeg", "-"], check=True, capture_output=True).stdout
    frames, start = [], 0
    while True:
        begin = data.find(b"\xff\xd8", start)
        end = data.find(b"\xff\xd9", begin + 2)
        if begin < 0 or end < 0:
            return frames
        frames.append(data[begin:end + 2])
        start = end + 2


def serve(server, frames, mode):
    client, _ = server.accept()
    client.recv(65536)
    if mode == "garbage":
        # An HTTP answer whose body is random bytes, as a misconfigured or hostile source might send.
        client.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp4\r\n\r\n" + os.urandom(200_000))
        client.close()
        return
    client.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\n\r\n")
    for frame in frames:
        client.sendall(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(frame) + frame + b"\r\n")
        time.sleep(0.04)
    if mode == "stall":
        # Send nothing more; return as soon as the client gives up and closes (or after 30 s).
        client.settimeout(30)
        try:
            while client.recv(4096):
                pass
        except OSError:
            pass
    client.close()


def main():
    video, count, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    frames = jpeg_frames(video, count)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(30)
    print(server.getsockname()[1], flush=True)
    for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 1):
        serve(server, frames, mode)
    server.close()


if __name__ == "__main__":
    main()
