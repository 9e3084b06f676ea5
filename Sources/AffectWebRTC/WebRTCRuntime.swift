import GSTBridge
import Synchronization

/// GStreamer, initialised once per process, with every element a receiver needs checked.
public enum WebRTCRuntime {
    /// Why WebRTC cannot be offered on this machine.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private static let state = Mutex<Result<Void, Unavailable>?>(nil)

    /// Initialises GStreamer and checks its WebRTC elements; throws, naming the missing package, when one
    /// is not installed. Later calls return the first call's answer.
    public static func initialize() throws(Unavailable) {
        let result = state.withLock { state -> Result<Void, Unavailable> in
            if let state { return state }
            var error = [CChar](repeating: 0, count: 256)
            let code = agst_initialize(&error, error.count)
            let result: Result<Void, Unavailable> = code == 0
                ? .success(()) : .failure(Unavailable(description: String(bridgeMessage: error)))
            state = result
            return result
        }
        try result.get()
    }
}
