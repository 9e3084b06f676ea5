// The participant's camera as a WebRTC video track to the study server (studies with transport
// webrtc). The track is encrypted (DTLS-SRTP) and congestion-controlled by the browser; the page sends
// over its capture socket only signalling and where the track is on the stimulus clock. A browser with
// the encoded-frame API (Chromium's createEncodedStreams) reports, for each frame as it is encoded, its
// RTP timestamp with the stimulus's media time then, so the server places every frame exactly. Others
// report the stimulus's media time against the page's wall clock ten times a second, and when it stops;
// the server maps each frame's RTP timestamp to that wall clock through the browser's RTCP sender
// reports. Nothing is sent while the participant pauses or the server holds the session: the track is
// detached.
"use strict";

const AffectWebRTC = (() => {
  /// How this browser's frames can be placed on the stimulus clock: "encoded-frames" (exact),
  /// "sender-reports" (estimated), or null when it cannot send a VP8 track (it uses JPEG snapshots).
  function clockMapping() {
    if (typeof RTCPeerConnection !== "function" || typeof RTCRtpSender !== "function" ||
      typeof RTCRtpSender.getCapabilities !== "function") return null;
    const codecs = (RTCRtpSender.getCapabilities("video") || { codecs: [] }).codecs;
    if (!codecs.some((codec) => codec.mimeType === "video/VP8")) return null;
    return "createEncodedStreams" in RTCRtpSender.prototype ? "encoded-frames" : "sender-reports";
  }

  /// The page's wall clock, in Unix milliseconds: the clock the browser's sender reports use.
  function wallNow() {
    return performance.timeOrigin + performance.now();
  }

  /// How often a page without the encoded-frame API reports the stimulus against its wall clock.
  const WALL_PAIR_MS = 100;
  /// The page's count of frames sent is read from the sender's statistics once in this many reports.
  const STATS_EVERY = 10;

  /// One connection for one capture socket. `send` puts a JSON message on the socket; `clock()` gives the
  /// stimulus's media time now, or null while nothing should be analysed (paused, held); `onFrames(n)`
  /// counts frames sent; `mapping` is what clockMapping() said.
  class Connection {
    constructor(stream, config, send, clock, onFrames, mapping) {
      this.send = send;
      this.track = stream.getVideoTracks()[0];
      this.config = config;
      this.mapping = mapping;
      this.remoteCandidates = [];
      this.answered = false;
      this.closed = false;
      this.lastMedia = -1;
      const exact = mapping === "encoded-frames";
      this.pc = new RTCPeerConnection({ iceServers: config.ice_servers || [], encodedInsertableStreams: exact });
      this.pc.onicecandidate = (event) => {
        if (this.closed) return;
        const candidate = event.candidate;
        this.send({ type: "ice", mline: candidate ? candidate.sdpMLineIndex || 0 : 0, candidate: candidate ? candidate.candidate : "" });
      };
      this.transceiver = this.pc.addTransceiver(this.track, {
        direction: "sendonly", sendEncodings: [{ maxFramerate: config.fps }],
      });
      // VP8 only: every receiver decodes it, and the server needs nothing else.
      const vp8 = RTCRtpSender.getCapabilities("video").codecs.filter((codec) => codec.mimeType === "video/VP8");
      this.transceiver.setCodecPreferences(vp8);
      if (!exact) {
        this.playing = false;
        this.framesEncoded = 0;
        this.reports = 0;
        this.timer = setInterval(() => this.reportWallClock(clock, onFrames), WALL_PAIR_MS);
        return;
      }
      const { readable, writable } = this.transceiver.sender.createEncodedStreams();
      const connection = this;
      readable.pipeThrough(new TransformStream({
        transform(frame, controller) {
          connection.stamp(frame, clock, onFrames);
          controller.enqueue(frame);
        },
      })).pipeTo(writable).catch(() => {});
    }

    /// Reports an encoded frame's RTP timestamp with the stimulus time, before the frame leaves, and the
    /// wall clock then (the server measures the sender-report mapping against the exact one with it).
    stamp(frame, clock, onFrames) {
      if (this.closed) return;
      const media = clock();
      if (media === null || media <= this.lastMedia) return;
      const metadata = frame.getMetadata ? frame.getMetadata() : {};
      const rtp = metadata.rtpTimestamp !== undefined ? metadata.rtpTimestamp : frame.timestamp;
      if (!Number.isInteger(rtp)) return;
      this.lastMedia = media;
      this.send({ type: "clock", frames: [[rtp, media]], wall: [[wallNow(), media]] });
      onFrames(1);
    }

    /// Without the encoded-frame API: where the stimulus is on the page's wall clock, or when it stopped;
    /// frames sent are counted from the sender's statistics, once a second.
    reportWallClock(clock, onFrames) {
      if (this.closed) return;
      const media = clock();
      if (media !== null) {
        this.playing = true;
        this.send({ type: "clock", wall: [[wallNow(), media]] });
      } else if (this.playing) {
        this.stopped();
      }
      this.reports += 1;
      if (this.reports % STATS_EVERY !== 0) return;
      this.transceiver.sender.getStats().then((report) => {
        report.forEach((entry) => {
          if (entry.type !== "outbound-rtp" || typeof entry.framesEncoded !== "number") return;
          if (entry.framesEncoded > this.framesEncoded) onFrames(entry.framesEncoded - this.framesEncoded);
          this.framesEncoded = entry.framesEncoded;
        });
      }).catch(() => {});
    }

    /// The stimulus stopped now: frames captured from now on have no place until the next pair.
    stopped() {
      this.playing = false;
      this.send({ type: "clock", stopped: wallNow() });
    }

    async start() {
      // No larger than the server asks for, no faster than the study's rate.
      await this.track.applyConstraints({
        width: { max: this.config.max_width }, height: { max: this.config.max_height },
        frameRate: { max: this.config.fps },
      }).catch(() => {});
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.send({ type: "webrtc-offer", sdp: this.pc.localDescription.sdp });
    }

    async answer(sdp) {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      this.answered = true;
      for (const candidate of this.remoteCandidates.splice(0)) await this.addCandidate(candidate);
    }

    async candidate(message) {
      const candidate = { candidate: message.candidate, sdpMLineIndex: message.mline };
      if (!this.answered) return this.remoteCandidates.push(candidate);
      await this.addCandidate(candidate);
    }

    async addCandidate(candidate) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (_) { /* a candidate this browser cannot use: ICE tries the others */ }
    }

    /// Stops or resumes sending the camera (pause, hold): the connection stays up.
    sending(on) {
      if (this.closed) return;
      if (!on && this.playing) this.stopped();
      this.transceiver.sender.replaceTrack(on ? this.track : null).catch(() => {});
    }

    close() {
      this.closed = true;
      clearInterval(this.timer);
      this.pc.close();
    }
  }

  return { clockMapping, Connection };
})();
