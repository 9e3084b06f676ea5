import Foundation
import Synchronization

/// The result of `operation`, or nil once `seconds` pass, whichever comes first, without waiting for
/// the other. For WebSocket clients whose upgrade the server refuses and closes at once:
/// HummingbirdWSClient 2.8 can then wait for ever (the connection closes while its upgrade request
/// is still active), and a structured timeout would wait for it all the same. The loser runs on,
/// detached, until the test process ends.
func firstOf<T: Sendable>(within seconds: Double, _ operation: @escaping @Sendable () async -> T) async -> T? {
    let once = Once()
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        Task.detached {
            let value = await operation()
            if once.first() { continuation.resume(returning: value) }
        }
        Task.detached {
            try? await Task.sleep(for: .seconds(seconds))
            if once.first() { continuation.resume(returning: nil) }
        }
    }
}

/// True exactly once.
private final class Once: Sendable {
    private let done = Mutex(false)

    func first() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
