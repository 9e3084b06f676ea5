import Synchronization

/// Runs `operation` in a task of its own and returns what it returns, or throws `late()` once
/// `deadline` has passed, whether or not the operation has ended by then.
///
/// A task group cannot give this guarantee: leaving the group waits for every child, so an operation
/// that does not end when cancelled (seen with a PostgreSQL connection request during a database
/// restart) holds its caller for ever. Here the operation is cancelled at the deadline and left
/// behind: the caller goes on at once, and `leftBehind` is called if the operation ends later, so
/// the log can say so.
/// Cancelling the caller cancels the operation and ends the wait.
func withDeadline<T: Sendable>(_ deadline: Duration, late: @escaping @Sendable () -> any Error,
                               leftBehind: @escaping @Sendable () -> Void = {},
                               _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation)
            let work = Task {
                let outcome: Result<T, any Error>
                do { outcome = .success(try await operation()) } catch { outcome = .failure(error) }
                if !race.finish(outcome) { leftBehind() }
            }
            let timer = Task {
                do { try await Task.sleep(for: deadline) } catch { return }
                guard race.finish(.failure(late())) else { return }
                work.cancel()
            }
            race.attach(work: work, timer: timer)
        }
    } onCancel: {
        race.cancel()
    }
}

/// The state one ``withDeadline(_:late:leftBehind:_:)`` shares between its operation, its timer and
/// its caller's cancellation; the first to finish resumes the caller, exactly once.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var cancelled = false
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Keeps the tasks for cancellation; a caller already cancelled cancels them at once.
    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            state.work = work
            state.timer = timer
            return state.cancelled
        }
        if cancelNow { cancel() }
    }

    /// Resumes the caller with `outcome` unless something else did first; returns whether it did.
    @discardableResult
    func finish(_ outcome: Result<T, any Error>) -> Bool {
        let (continuation, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        guard let continuation else { return false }
        timer?.cancel()
        continuation.resume(with: outcome)
        return true
    }

    func cancel() {
        let work = state.withLock { state -> Task<Void, Never>? in
            state.cancelled = true
            return state.work
        }
        work?.cancel()
        finish(.failure(CancellationError()))
    }
}
