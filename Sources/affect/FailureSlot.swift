import Foundation

/// The first error a live sink hit, shared with the thread that waits for the run.
final class FailureSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?

    var isSet: Bool { lock.withLock { first != nil } }
    var error: (any Error)? { lock.withLock { first } }

    func set(_ error: any Error) {
        lock.withLock { if first == nil { first = error } }
    }
}
