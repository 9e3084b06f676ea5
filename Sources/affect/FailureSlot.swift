import Synchronization

/// The first error a live sink or a worker hit, shared with the thread that waits for the run.
final class FailureSlot: Sendable {
    private let first = Mutex<(any Error)?>(nil)

    var isSet: Bool { first.withLock { $0 != nil } }
    var error: (any Error)? { first.withLock { $0 } }

    /// Keeps `error` unless an earlier one is kept already.
    func set(_ error: any Error) {
        first.withLock { if $0 == nil { $0 = error } }
    }
}
