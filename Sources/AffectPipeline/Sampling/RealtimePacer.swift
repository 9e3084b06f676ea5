import AffectCore
import Foundation

/// Paces a file at its own frame rate, as if it were a live stream.
public struct RealtimePacer: Sendable {
    private let start = ContinuousClock.now

    public init() {}

    /// Sleeps until the frame at `timeMilliseconds` is due and returns that moment: a paced file
    /// frame counts as "captured" when it is due, as a camera's would be.
    public func wait(until timeMilliseconds: Double) -> ContinuousClock.Instant {
        let due = start.advanced(by: .milliseconds(Int64(timeMilliseconds.rounded())))
        let wait = ContinuousClock.now.duration(to: due)
        if wait > .zero { Thread.sleep(forTimeInterval: wait.milliseconds / 1000) }
        return .now
    }
}
