import AffectCore
import AffectVision
import Foundation

/// A participant's WebRTC camera track as a live frame source: decoded frames come in from the
/// receiver, each placed on the stimulus clock by its RTP timestamp (``RTPStimulusClock``), and the
/// engine takes the newest as it samples.
///
/// Every frame is decoded (inter-frame codecs need it), but only the frames the engine samples are
/// converted to BGR. A frame the page did not report (the stimulus was paused or held) has no place on
/// the clock and is never analysed. At most three frames are held (placed, unplaced, being converted),
/// each a copy zeroed as it is released (``ZeroedBuffer``).
// Mutable state is guarded by `condition` (the engine's capture thread waits on it for a frame).
public final class WebRTCFrameSource: FrameSource, @unchecked Sendable {
    public let name: String
    public let nominalFramesPerSecond: Double?
    public let declaredFrameCount: Int? = nil
    public let isLive = true

    private struct Held {
        var i420: ZeroedBuffer
        var width: Int
        var height: Int
        var rtpTimestamp: UInt32
    }

    private let condition = NSCondition()
    private var clock = RTPStimulusClock()
    /// Placed on the stimulus clock, waiting for the engine.
    private var placed: (frame: Held, mediaMilliseconds: Double)?
    /// Decoded before the page's report of it arrived.
    private var unplaced: Held?
    private var current: Held?
    private var closed = false
    private var nextIndex = 0
    private var replaced = 0
    private var unreported = 0
    private var decoded = 0
    private var lastMedia = -Double.infinity
    private let timeoutSeconds: Double

    /// - Parameters:
    ///   - framesPerSecond: the rate the page's track is asked to carry.
    ///   - timeoutSeconds: a track that yields no frame on the stimulus clock for this long ends the stream.
    public init(name: String, framesPerSecond: Double?, timeoutSeconds: Double) {
        self.name = name
        self.nominalFramesPerSecond = framesPerSecond
        self.timeoutSeconds = timeoutSeconds
    }

    /// Frames replaced by newer ones before the engine took them.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return replaced
    }

    /// Frames decoded, and those never placed on the stimulus clock (paused, or never reported).
    public var counts: (decoded: Int, unreported: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (decoded, unreported)
    }

    /// Takes one decoded frame from the receiver (on its thread): copied, placed when the page has
    /// reported it, else held until it does (replacing an older unplaced frame).
    public func receive(_ frame: WebRTCReceiver.Frame) {
        guard let rtp = frame.rtpTimestamp, frame.i420.count > 0 else { return }
        let held = Held(i420: ZeroedBuffer(copying: frame.i420), width: frame.width, height: frame.height, rtpTimestamp: rtp)
        condition.lock()
        defer { condition.unlock() }
        decoded += 1
        guard !closed else { return }
        if unplaced != nil { unreported += 1 }
        unplaced = held
        placeWaitingFrame()
    }

    /// Takes the page's clock pairs (the RTP timestamps of frames it sent, with their stimulus times).
    public func record(_ pairs: [RTPStimulusClock.Pair]) {
        condition.lock()
        defer { condition.unlock() }
        for pair in pairs { clock.record(pair) }
        placeWaitingFrame()
    }

    /// Call with `condition` held.
    private func placeWaitingFrame() {
        guard let frame = unplaced, let media = clock.mediaMilliseconds(ofRTPTimestamp: frame.rtpTimestamp) else { return }
        unplaced = nil
        // Never twice, or backwards, on the stimulus clock (a frame reported again after a seek is not).
        guard media > lastMedia else {
            unreported += 1
            return
        }
        lastMedia = media
        if placed != nil { replaced += 1 }
        placed = (frame, media)
        condition.signal()
    }

    public func close() {
        condition.lock()
        closed = true
        unplaced = nil
        condition.broadcast()
        condition.unlock()
    }

    public func advance() throws -> FrameStamp? {
        condition.lock()
        defer { condition.unlock() }
        current = nil
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while placed == nil && !closed {
            if !condition.wait(until: deadline) { throw VisionError.streamStalled(source: name, seconds: timeoutSeconds) }
        }
        guard let (frame, media) = placed else { return nil }
        placed = nil
        current = frame
        defer { nextIndex += 1 }
        return FrameStamp(index: nextIndex, timeMilliseconds: media)
    }

    public func currentImage() throws -> Image {
        condition.lock()
        let frame = current
        condition.unlock()
        guard let frame else { throw VisionError.streamCorrupt(source: name, reason: "no frame") }
        return try frame.i420.withData { try Image(i420: $0, width: frame.width, height: frame.height, source: "\(name) frame \(nextIndex - 1)") }
    }
}
