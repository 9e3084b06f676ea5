// The participant's camera as a WebRTC video track to the study server (studies with transport
// webrtc). The track is encrypted (DTLS-SRTP) and congestion-controlled by the browser; the page sends
// over its capture socket only signalling and, for each frame as it is encoded, its RTP timestamp with
// the stimulus's media time then, so the server places every frame on the stimulus clock exactly.
// Nothing is sent while the participant pauses or the server holds the session: the track is detached.
"use strict";

const AffectWebRTC = (() => {
  /// Whether this browser can send the track and tell each frame's RTP timestamp (Chromium's
  /// encoded-frame API); others use JPEG snapshots.
  function supported() {
    return typeof RTCPeerConnection === "function" && typeof RTCRtpSender === "function" &&
      "createEncodedStreams" in RTCRtpSender.prototype && typeof RTCRtpSender.getCapabilities === "function" &&
      (RTCRtpSender.getCapabilities("video") || { codecs: [] }).codecs.some((codec) => codec.mimeType === "video/VP8");
  }

  /// One connection for one capture socket. `send` puts a JSON message on the socket; `clock()` gives the
  /// stimulus's media time now, or null while nothing should be analysed (paused, held).
  class Connection {
    constructor(stream, config, send, clock, onFrame) {
      this.send = send;
      this.track = stream.getVideoTracks()[0];
      this.config = config;
      this.remoteCandidates = [];
      this.answered = false;
      this.closed = false;
      this.lastMedia = -1;
      this.pc = new RTCPeerConnection({ iceServers: config.ice_servers || [], encodedInsertableStreams: true });
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
      const { readable, writable } = this.transceiver.sender.createEncodedStreams();
      const connection = this;
      readable.pipeThrough(new TransformStream({
        transform(frame, controller) {
          connection.stamp(frame, clock, onFrame);
          controller.enqueue(frame);
        },
      })).pipeTo(writable).catch(() => {});
    }

    /// Reports an encoded frame's RTP timestamp with the stimulus time, before the frame leaves.
    stamp(frame, clock, onFrame) {
      if (this.closed) return;
      const media = clock();
      if (media === null || media <= this.lastMedia) return;
      const metadata = frame.getMetadata ? frame.getMetadata() : {};
      const rtp = metadata.rtpTimestamp !== undefined ? metadata.rtpTimestamp : frame.timestamp;
      if (!Number.isInteger(rtp)) return;
      this.lastMedia = media;
      this.send({ type: "clock", frames: [[rtp, media]] });
      onFrame();
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
      this.transceiver.sender.replaceTrack(on ? this.track : null).catch(() => {});
    }

    close() {
      this.closed = true;
      this.pc.close();
    }
  }

  return { supported, Connection };
})();
