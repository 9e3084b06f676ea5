import AffectCore
import AffectTestSupport
import AffectVision
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// A participant page as `participant.js` behaves across server failures: the stimulus plays on a
/// wall clock and the page sends a frame every `interval` stamped with its media time; when its
/// connection fails or the server closes it with 1012 (restart, drain), it reconnects through its
/// link, to `reconnectURL` (the balancer), and goes on from the current media time.
final class ResumingPage: Sendable {
    let secret: String
    private let state = Mutex(State())

    private struct State {
        var acknowledged: [Double] = []
        var sessions: Set<String> = []
        var readyAt: [ContinuousClock.Instant] = []
        var droppedAt: [ContinuousClock.Instant] = []
        var closes: [String] = []
    }

    init(secret: String) {
        self.secret = secret
    }

    /// Media times the server said are stored.
    var acknowledged: [Double] { state.withLock { $0.acknowledged } }
    /// Sessions the server said this page's connections run (one, resumed, when all goes well).
    var sessions: Set<String> { state.withLock { $0.sessions } }
    /// How its connections ended: close codes, or errors.
    var closes: [String] { state.withLock { $0.closes } }
    /// Whether a connection got its `ready`.
    var isCapturing: Bool { state.withLock { !$0.readyAt.isEmpty } }

    /// From the first failure after `instant` to the next `ready`: how long the page waited to resume.
    func resumeDelay(after instant: ContinuousClock.Instant) -> Duration? {
        state.withLock { state in
            guard let ready = state.readyAt.first(where: { $0 > instant }) else { return nil }
            return instant.duration(to: ready)
        }
    }

    /// Sends frames for `duration` of stimulus time from `firstURL`, reconnecting to `reconnectURL`,
    /// then the end; returns once the server closed the last connection.
    func run(firstURL: String, reconnectURL: String, duration: Duration, interval: Duration = .milliseconds(500),
             jpeg: Data) async {
        let started = ContinuousClock.now
        var url = firstURL
        let giveUp = started.advanced(by: duration + .seconds(60))
        while ContinuousClock.now < giveUp {
            let wsURL = url.replacingOccurrences(of: "http://", with: "ws://") + "/p/\(secret)/ws"
            do {
                let close = try await WebSocketClient.connect(url: wsURL, configuration: .init(maxFrameSize: 1 << 22),
                                                              logger: Logger(label: "test.page")) { inbound, outbound, _ in
                    let reader = Task {
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            if case .text(let text) = message { self.note(text) }
                        }
                    }
                    while started.duration(to: .now) < duration {
                        let elapsed = started.duration(to: .now).components
                        // Whole milliseconds, as the page's video clock reports them.
                        let media = (Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15).rounded()
                        let message = FrameMessage(mediaMilliseconds: media, captureMilliseconds: media, jpeg: jpeg)
                        do {
                            try await outbound.writeBinaryMessage(ByteBuffer(bytes: message.encoded()))
                        } catch {
                            // The server closed the socket: its close frame says why.
                            _ = try? await reader.value
                            return
                        }
                        try await Task.sleep(for: interval)
                    }
                    try await outbound.writeTextMessage(#"{"type": "end"}"#)
                    _ = try? await reader.value
                }
                let code = close.map { "\($0.closeCode)" } ?? "none"
                state.withLock { $0.closes.append(code) }
                // As participant.js: a connection that ended without a close, or with going-away,
                // abnormal, restart or try-again-later, is reconnected; any other close is the end.
                if let code = close?.closeCode {
                    switch code {
                    case .goingAway, .unknown(1006), .unknown(1012), .unknown(1013): break
                    default: return
                    }
                }
            } catch {
                state.withLock { $0.closes.append("\(error)") }
            }
            state.withLock { $0.droppedAt.append(.now) }
            url = reconnectURL
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func note(_ text: String) {
        guard let message = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
        state.withLock { state in
            switch message["type"] as? String {
            case "ready":
                if let session = message["session"] as? String { state.sessions.insert(session) }
                state.readyAt.append(.now)
            case "stored":
                state.acknowledged += message["t_ms"] as? [Double] ?? []
            default: break
            }
        }
    }
}
