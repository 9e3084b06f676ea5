/// Places frames received over WebRTC on the stimulus clock when the browser cannot say which RTP
/// timestamp each frame it encodes carries (no encoded-frame API): through the sender's own wall clock.
///
/// Two mappings chain. The browser's RTCP sender reports pair an RTP timestamp with the sender's
/// wall-clock time (NTP), so a frame's RTP timestamp gives the wall-clock time it was captured; the
/// page reports (wall-clock time, stimulus media time) pairs while the stimulus plays, and a stop when
/// it pauses, so that wall-clock time gives the stimulus time. Both clocks are the participant's
/// machine's own, so the server's clock never enters. A frame captured while the stimulus was stopped,
/// or too long after the page's last pair, has no place and is not analysed.
///
/// Less exact than ``RTPStimulusClock`` (the reports are extrapolated over up to a second or two at 90 kHz,
/// and the page's pairs over up to ``extrapolationLimitMilliseconds``); a session records which mapping
/// placed its frames (``StimulusClockMapping``).
///
/// Bounded: the newest ``capacity`` page marks and the newest sender report are kept.
public struct SenderReportStimulusClock: Sendable {
    /// Page marks kept: at the page's ten a second, six seconds.
    public static let capacity = 64
    /// How far past the page's last pair a frame may be placed (the stimulus plays at normal speed).
    public static let extrapolationLimitMilliseconds = 300.0
    /// RTP's video clock rate.
    public static let rtpTicksPerMillisecond = 90.0
    /// Seconds from NTP's epoch (1900) to Unix's (1970).
    static let ntpToUnixSeconds: UInt64 = 2_208_988_800

    /// What the page says at one wall-clock time: the stimulus's media time, or nil once it stopped.
    struct Mark: Sendable, Hashable {
        var wallMilliseconds: Double
        var mediaMilliseconds: Double?
    }

    private var marks: [Mark] = []
    private var report: (rtpTimestamp: UInt32, wallMilliseconds: Double)?

    public init() {}

    /// Whether a sender report has arrived.
    public var hasSenderReport: Bool { report != nil }

    /// Records the sender's newest report: an RTP timestamp and its NTP time (64-bit fixed point, seconds
    /// since 1900). An NTP time before 1970 is ignored.
    public mutating func recordSenderReport(rtpTimestamp: UInt32, ntpTime: UInt64) {
        guard let wall = Self.unixMilliseconds(ntpTime: ntpTime) else { return }
        report = (rtpTimestamp, wall)
    }

    /// Records that the stimulus was at `mediaMilliseconds` when the page's clock read `wallMilliseconds`
    /// (Unix time). Marks older than the newest are ignored.
    public mutating func recordPlaying(atWallMilliseconds wall: Double, mediaMilliseconds media: Double) {
        append(Mark(wallMilliseconds: wall, mediaMilliseconds: media))
    }

    /// Records that the stimulus stopped (paused, held) at `wallMilliseconds`: frames after it have no place
    /// until the next pair.
    public mutating func recordStopped(atWallMilliseconds wall: Double) {
        append(Mark(wallMilliseconds: wall, mediaMilliseconds: nil))
    }

    private mutating func append(_ mark: Mark) {
        if let last = marks.last, mark.wallMilliseconds < last.wallMilliseconds { return }
        if marks.count == Self.capacity { marks.removeFirst() }
        marks.append(mark)
    }

    /// The sender's wall-clock time (Unix ms) of the frame with this RTP timestamp, from its newest report.
    public func wallMilliseconds(ofRTPTimestamp timestamp: UInt32) -> Double? {
        guard let report else { return nil }
        // Wrapping difference: a frame may be just before or after the report.
        let ticks = Int32(bitPattern: timestamp &- report.rtpTimestamp)
        return report.wallMilliseconds + Double(ticks) / Self.rtpTicksPerMillisecond
    }

    /// The stimulus time at a wall-clock time of the page's, when the page was playing then.
    public func mediaMilliseconds(atWallMilliseconds wall: Double) -> Double? {
        guard let index = marks.lastIndex(where: { $0.wallMilliseconds <= wall }),
              let media = marks[index].mediaMilliseconds else { return nil }
        let elapsed = wall - marks[index].wallMilliseconds
        guard elapsed <= Self.extrapolationLimitMilliseconds else { return nil }
        return media + elapsed
    }

    /// The stimulus time of the frame with this RTP timestamp, if it can be placed.
    public func mediaMilliseconds(ofRTPTimestamp timestamp: UInt32) -> Double? {
        wallMilliseconds(ofRTPTimestamp: timestamp).flatMap(mediaMilliseconds(atWallMilliseconds:))
    }

    static func unixMilliseconds(ntpTime: UInt64) -> Double? {
        let seconds = ntpTime >> 32
        guard seconds >= ntpToUnixSeconds else { return nil }
        let fraction = Double(ntpTime & 0xFFFF_FFFF) / 4_294_967_296
        return (Double(seconds - ntpToUnixSeconds) + fraction) * 1000
    }
}
