import AffectCore
import Foundation

/// Paces a file at its own frame rate, as if it were a live stream.
///
/// The clock starts at the first frame, not when the pacer is made: time spent opening the
/// source (or a deliberately late start) would otherwise make every frame late, and late
/// frames are not waited for, so the file would run at decoding speed.
public struct RealtimePacer: Sendable {
    private var start: ContinuousClock.Instant?
    /// How late the last frame was read, in milliseconds (0 when it was on time): a paced file that
    /// cannot be decoded in real time shows here, as a camera's frames would pile up in its socket.
    public private(set) var lastLatenessMilliseconds = 0.0

    public init() {}

    /// Sleeps until the frame at `timeMilliseconds` is due and returns that moment: a paced file
    /// frame counts as "captured" when it is due, as a camera's would be.
    public mutating func wait(until timeMilliseconds: Double) -> ContinuousClock.Instant {
        guard let origin = start else {
            let now = ContinuousClock.now
            start = now.advanced(by: .milliseconds(-Int64(timeMilliseconds.rounded())))
            lastLatenessMilliseconds = 0
            return now
        }
        let due = origin.advanced(by: .milliseconds(Int64(timeMilliseconds.rounded())))
        let wait = ContinuousClock.now.duration(to: due)
        lastLatenessMilliseconds = max(0, -wait.milliseconds)
        if wait > .zero { Thread.sleep(forTimeInterval: wait.milliseconds / 1000) }
        return .now
    }
}
