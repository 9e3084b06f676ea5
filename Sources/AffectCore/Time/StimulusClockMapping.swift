/// How a WebRTC session's frames were placed on the stimulus clock, as its provenance records.
public enum StimulusClockMapping: String, Sendable, Hashable, Codable, CaseIterable {
    /// The page reported each encoded frame's RTP timestamp with its stimulus time: exact.
    case encodedFrames = "encoded-frames"
    /// Through the browser's RTCP sender reports and the page's wall-clock pairs: estimated.
    case senderReports = "sender-reports"
}
