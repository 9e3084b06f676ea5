import Foundation

/// Runs async work from synchronous code (the analysis sinks) and waits for it.
///
/// The analysis loops are synchronous threads, not tasks; the store is async. Waiting here
/// also gives back-pressure: a frame's result is stored before the next frame is analysed,
/// which is what lets a withdrawal stop processing within one frame.
/// Never call it from a task on Swift's cooperative pool.
enum Blocking {
    // Written by the task before it signals the semaphore, read only after the wait: the semaphore
    // orders the two, which the compiler cannot see.
    private final class Box<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }

    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                box.result = .success(try await body())
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        guard let result = box.result else { throw CancellationError() }
        return try result.get()
    }
}
