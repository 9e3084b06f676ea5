/// A first-come, first-served async semaphore: at most `limit` holders at a time, waiters resumed in
/// order. With `limit` 1 (the default) it is a mutex.
actor AsyncGate {
    /// Thrown by ``run(_:)`` when `maximumWaiters` are already waiting.
    struct Full: Error {}

    private let limit: Int
    private let maximumWaiters: Int
    private var holders = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int = 1, maximumWaiters: Int = .max) {
        self.limit = max(1, limit)
        self.maximumWaiters = maximumWaiters
    }

    func acquire() async {
        guard holders >= limit else {
            holders += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            holders -= 1
        } else {
            // The place passes straight to the first waiter.
            waiters.removeFirst().resume()
        }
    }

    /// Runs `body` holding one place; throws ``Full`` at once when the queue is at its limit.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if holders >= limit && waiters.count >= maximumWaiters { throw Full() }
        await acquire()
        defer { release() }
        return try await body()
    }
}
