import Foundation

/// A live source that reopens its stream with exponential backoff when it ends,
/// stalls or cannot be reached, keeping frame indices continuous and timing
/// every frame by one monotonic clock started when the source was opened.
public final class ReconnectingFrameSource: FrameSource {
    public let name: String
    public var nominalFramesPerSecond: Double? { current?.nominalFramesPerSecond }
    public let declaredFrameCount: Int? = nil
    public let isLive = true

    private let open: () throws -> any FrameSource
    private var current: (any FrameSource)?
    /// Reconnections allowed after the first connection (nil: unlimited).
    private let limit: Int?
    private var reconnections = 0
    private let log: (String) -> Void
    private var indexOffset = 0
    private var lastStamp: FrameStamp?
    private let clockStart = ContinuousClock.now

    /// - Parameters:
    ///   - limit: reconnections allowed (nil for unlimited).
    ///   - log: receives one line per reconnection attempt.
    public init(name: String, limit: Int?, log: @escaping (String) -> Void,
                open: @escaping () throws -> any FrameSource) throws {
        self.name = name
        self.limit = limit
        self.log = log
        self.open = open
        current = try open()
    }

    public func advance() throws -> FrameStamp? {
        while true {
            // Outside the do block: running out of reconnections must end the run, not retry.
            if current == nil { try reconnect() }
            do {
                if let stamp = try current?.advance() {
                    // One clock across connections, so the gap while reconnecting shows in the timestamps.
                    let continued = FrameStamp(index: stamp.index + indexOffset,
                                               timeMilliseconds: clockStart.duration(to: .now).milliseconds)
                    lastStamp = continued
                    return continued
                }
                log("\(name): stream ended; reconnecting")
            } catch let error as VisionError {
                switch error {
                case .streamStalled, .streamUnreachable, .streamCorrupt:
                    log("\(error.description); reconnecting")
                default:
                    throw error
                }
            }
            current = nil
            if let lastStamp {
                // The new connection counts frames from zero again: continue the count from here.
                indexOffset = lastStamp.index + 1
            }
        }
    }

    public func currentImage() throws -> Image {
        guard let current else { throw VisionError.streamCorrupt(source: name, reason: "no frame") }
        return try current.currentImage()
    }

    private func reconnect() throws {
        while true {
            if let limit, reconnections >= limit { throw VisionError.streamUnreachable(url: name) }
            reconnections += 1
            let delay = min(10, 0.5 * pow(2, Double(reconnections - 1)))
            Thread.sleep(forTimeInterval: delay)
            do {
                current = try open()
                log("\(name): reconnected (attempt \(reconnections))")
                return
            } catch let error as VisionError {
                log("reconnect attempt \(reconnections) failed: \(error.description)")
            }
        }
    }
}
