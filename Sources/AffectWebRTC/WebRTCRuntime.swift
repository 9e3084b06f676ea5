import Foundation
import GSTBridgeLoader
import Synchronization

/// The WebRTC bridge and GStreamer, loaded and initialised once per process, with every element a
/// receiver needs checked.
///
/// The bridge is its own shared library (`libGSTBridge.so`, built only where GStreamer's development
/// packages are: `make serve WEBRTC=1`, `make test`), found at `$AFFECT_GSTBRIDGE` or beside the running
/// executable; `affect` itself links no GStreamer, so it builds and runs without it, with WebRTC off.
public enum WebRTCRuntime {
    /// Why WebRTC cannot be offered on this machine.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The bridge library's file name.
    public static let libraryName = "libGSTBridge.so"

    private static let state = Mutex<Result<Void, Unavailable>?>(nil)

    /// Loads the bridge, initialises GStreamer and checks its WebRTC elements; throws, saying what to
    /// install, when one is missing. Later calls return the first call's answer.
    public static func initialize() throws(Unavailable) {
        let result = state.withLock { state -> Result<Void, Unavailable> in
            if let state { return state }
            let result = load()
            state = result
            return result
        }
        try result.get()
    }

    private static func load() -> Result<Void, Unavailable> {
        guard let path = libraryPath() else {
            return .failure(Unavailable(description: "the WebRTC bridge (\(libraryName)) is not built: `make serve WEBRTC=1` "
                + "installs GStreamer's WebRTC packages and builds it"))
        }
        var error = [CChar](repeating: 0, count: 512)
        guard gstbridge_load(path, &error, error.count) == 0 else {
            return .failure(Unavailable(description: "the WebRTC bridge could not be loaded (\(String(bridgeMessage: error))): "
                + "`make serve WEBRTC=1` installs GStreamer's WebRTC packages"))
        }
        guard gstbridge_initialize(&error, error.count) == 0 else {
            return .failure(Unavailable(description: "\(String(bridgeMessage: error)); `make serve WEBRTC=1` installs GStreamer's WebRTC packages"))
        }
        return .success(())
    }

    /// `$AFFECT_GSTBRIDGE`, else the library beside the running executable (SwiftPM builds both into one
    /// folder; the test runner lives there too), if it exists.
    static func libraryPath() -> String? {
        if let configured = ProcessInfo.processInfo.environment["AFFECT_GSTBRIDGE"], !configured.isEmpty {
            return configured
        }
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let beside = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(libraryName).path
        return FileManager.default.fileExists(atPath: beside) ? beside : nil
    }
}
