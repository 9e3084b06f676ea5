import AffectCore
import AffectVision
import Foundation

/// A participant's WebRTC camera track as a live frame source: decoded frames come in from the
/// receiver, each placed on the stimulus clock by its RTP timestamp, and the engine takes the newest as
/// it samples. The session's ``StimulusClockMapping`` says how: by the page's pair for that very frame
/// (``RTPStimulusClock``), or through the browser's sender reports and the page's wall-clock pairs
/// (``SenderReportStimulusClock``). Where the page sends both, the second is measured against the first.
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

    /// How frames are placed on the stimulus clock.
    public let mapping: StimulusClockMapping
    private let condition = NSCondition()
    private var clock = RTPStimulusClock()
    private var reports = SenderReportStimulusClock()
    /// How far the sender-report mapping placed frames from their exact place (ms), where both could.
    private var residuals = Residuals()
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
    private var senderReports = 0
    private var placedCount = 0
    private var lastMedia = -Double.infinity
    private let timeoutSeconds: Double

    /// - Parameters:
    ///   - framesPerSecond: the rate the page's track is asked to carry.
    ///   - timeoutSeconds: a track that yields no frame on the stimulus clock for this long ends the stream.
    ///   - mapping: how frames are placed on the stimulus clock.
    public init(name: String, framesPerSecond: Double?, timeoutSeconds: Double, mapping: StimulusClockMapping = .encodedFrames) {
        self.name = name
        self.nominalFramesPerSecond = framesPerSecond
        self.timeoutSeconds = timeoutSeconds
        self.mapping = mapping
    }

    /// Frames replaced by newer ones before the engine took them.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return replaced
    }

    /// Frames decoded, those placed on the stimulus clock, those never placed (paused, or never reported),
    /// and the browser's sender reports received.
    public var counts: (decoded: Int, placed: Int, unreported: Int, senderReports: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (decoded, placedCount, unreported, senderReports)
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

    /// Takes one of the page's clock messages.
    public func record(_ report: WebRTCMessage.ClockReport) {
        condition.lock()
        defer { condition.unlock() }
        for pair in report.frames { clock.record(pair) }
        for pair in report.wall { reports.recordPlaying(atWallMilliseconds: pair.wallMilliseconds, mediaMilliseconds: pair.mediaMilliseconds) }
        if let stopped = report.stoppedAtWallMilliseconds { reports.recordStopped(atWallMilliseconds: stopped) }
        placeWaitingFrame()
    }

    /// Takes one of the browser's RTCP sender reports (from the receiver).
    public func recordSenderReport(rtpTimestamp: UInt32, ntpTime: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        reports.recordSenderReport(rtpTimestamp: rtpTimestamp, ntpTime: ntpTime)
        senderReports += 1
        placeWaitingFrame()
    }

    /// How far the sender-report mapping placed frames from their exact place, in ms (median and 95th
    /// percentile of the absolute differences, with how many frames), where the page sent both; nil otherwise.
    public var senderReportResidual: (frames: Int, median: Double, p95: Double)? {
        condition.lock()
        defer { condition.unlock() }
        return residuals.summary
    }

    /// Call with `condition` held.
    private func placeWaitingFrame() {
        guard let frame = unplaced else { return }
        let estimate = reports.mediaMilliseconds(ofRTPTimestamp: frame.rtpTimestamp)
        let placement: Double?
        switch mapping {
        case .encodedFrames:
            placement = clock.mediaMilliseconds(ofRTPTimestamp: frame.rtpTimestamp)
            if let placement, let estimate { residuals.add(abs(estimate - placement)) }
        case .senderReports:
            placement = estimate
        }
        guard let media = placement else { return }
        unplaced = nil
        // Never twice, or backwards, on the stimulus clock (a frame reported again after a seek is not).
        guard media > lastMedia else {
            unreported += 1
            return
        }
        lastMedia = media
        placedCount += 1
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

/// Absolute differences between two placements of the same frames, the newest ``capacity`` kept.
private struct Residuals {
    static let capacity = 4096
    private var values: [Double] = []
    private var next = 0

    mutating func add(_ value: Double) {
        if values.count < Self.capacity {
            values.append(value)
        } else {
            values[next] = value
            next = (next + 1) % Self.capacity
        }
    }

    var summary: (frames: Int, median: Double, p95: Double)? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return (sorted.count, Quantiles.sorted(sorted, 0.5), Quantiles.sorted(sorted, 0.95))
    }
}
