import AffectCore
import AffectStore
import AffectVision
import AffectWebRTC
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// `/p/:secret/ws`, `/p/:secret/stimulus` and `/p/:secret/withdraw`: what a consented link opens.
///
/// The socket carries binary frame messages (``FrameMessage``) from the page and a few JSON text
/// messages each way:
/// - server to page: `{"type": "ready", "session": ..., "fps": ..., "resume_from_ms": ...}` once (the last for
///   a session resumed after a lost connection or a server's crash: frames before it are already stored), then `{"type": "rate", "fps": ...}`
///   whenever the rate the server asks for changes (adaptive sampling, the load ladder), and
///   `{"type": "stored", "t_ms": [...]}` once records are committed (what survives a crash), and
///   `{"type": "pause", "reason": ...}` when results cannot be saved for a while (the database is
///   unreachable and the session's buffer is full: frames sent meanwhile are not analysed), then
///   `{"type": "resume"}` once they can;
/// - page to server: `{"type": "end"}` when the stimulus is over.
///
/// A page whose study receives cameras over WebRTC, and whose browser can send a track, opens
/// `/p/:secret/ws?transport=webrtc`; its `ready` then says `"transport": "webrtc"` with what the track
/// must be (`webrtc`: ICE servers, rate, largest size), and the socket carries the offer, the ICE
/// candidates and the clock pairs (``WebRTCMessage``) instead of frames; a browser without the encoded-frame
/// API adds `&clock=sender-reports` and sends wall-clock pairs instead of per-frame ones. Otherwise the
/// session uses JPEG.
///
/// A client's mistake closes its own socket at once with a code and a one-line reason, and nothing
/// else: 1009 a frame over the byte or pixel limit, 1007 a frame that is not a readable JPEG (or a
/// malformed header or text message), 1003 an unknown message type, 1008 frames faster than allowed or
/// a link that cannot start a session, or a session that went on over a newer connection. The server closes with 1000 when the participant withdraws,
/// 1012 when the session was settled as interrupted while the server could not reach the database
/// (the page reconnects and resumes), and 1011 when it gives the stream up (storage failed, shed under load).
///
/// A link that cannot open a socket is refused before the upgrade, with the HTTP status and JSON
/// reason a plain `GET` of the same URL also returns (the page reads that to say why): 404 for an
/// unknown link, 410 for one used up, expired or withdrawn, 503 for a server without models.
struct CaptureController {
    let store: PrivacyStore
    let capture: CaptureService
    /// Where uploaded stimuli are; nil when the server keeps none.
    let library: StimulusLibrary?

    func addRoutes(to group: Routes) {
        group.ws(":secret/ws", shouldUpgrade: { request, context in
            do {
                let link = try await store.participantLink(secret: try context.parameters.require("secret"))
                // A link whose session did not complete is resumed (the page lost its connection, or a
                // server died); one whose session this server is running now is open in another window.
                if let sessionID = link.invitation.sessionID {
                    if capture.isRunning(session: sessionID) { throw StoreError.invitationUnusable("is already open in another window") }
                    let status = try await store.session(sessionID).status
                    guard status == "running" || status == "interrupted" else {
                        throw StoreError.invitationUnusable("has already been used for a session")
                    }
                }
                try capture.checkAvailable(for: link, requested: Self.requestedTransport(request))
                return .upgrade([:])
            } catch {
                let (status, message) = Self.refusal(for: error)
                if request.headers[.upgrade]?.lowercased() == "websocket" {
                    try await UpgradeRefusal.install(on: context.channel, status: .init(statusCode: status.code), message: message)
                }
                throw HTTPError(status, message: message)
            }
        }, onUpgrade: { inbound, outbound, context in
            let secret = context.requestContext.parameters.get("secret") ?? ""
            let session: CaptureSession
            do {
                session = try await capture.begin(secret: secret, requested: Self.requestedTransport(context.request),
                                                  clock: Self.requestedClock(context.request))
            } catch {
                try? await outbound.close(.policyViolation, reason: Self.reason("\(error)"))
                return
            }
            session.onStop { stop in
                Task {
                    switch stop {
                    case .withdrawn: try? await outbound.close(.normalClosure, reason: "consent withdrawn; data handled as the study says")
                    case .badFrame(let reason): try? await outbound.close(.dataInconsistentWithMessage, reason: Self.reason(reason))
                    case .failed(let reason): try? await outbound.close(.unexpectedServerError, reason: Self.reason(reason))
                    case .superseded: try? await outbound.close(.policyViolation, reason: "this session continued on a newer connection")
                    case .interrupted:
                        // 1012 (service restart): the page reconnects through its link and resumes.
                        try? await outbound.close(.unknown(1012), reason: "the session was interrupted; reconnect to resume it")
                    case .draining:
                        try? await outbound.close(.unknown(1012), reason: "this server is shutting down; reconnect to resume")
                    }
                }
            }
            // With the study's leave, the participant sees exactly what is stored about them, as it is stored;
            // every page hears which of its frames are committed.
            let replies = AsyncStream<String>.makeStream()
            if session.link.study.definition.participantReadout {
                session.onStored { points in
                    if let text = try? Self.json(Readout(points: points)) { replies.continuation.yield(text) }
                }
            }
            session.onCommitted { times in
                if let text = try? Self.json(Stored(tMs: times)) { replies.continuation.yield(text) }
            }
            session.onHeld { held in
                let message: any Encodable = held ? Hold(type: "pause", reason: Hold.storageDelayed) : Hold(type: "resume")
                if let text = try? Self.json(message) { replies.continuation.yield(text) }
            }
            session.analysis.sendToPage { replies.continuation.yield($0) }
            let readout = Task {
                for await text in replies.stream {
                    try? await outbound.writeTextMessage(text)
                }
            }
            // The socket is read for as long as it is open, also while the session is being written
            // after the page ended it: pongs and the close handshake are only seen by a reader, and a
            // socket nobody reads is closed by its ping timeout (1001) while its results are stored.
            let decided = AsyncStream<Closing?>.makeStream()
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await ingest(inbound: inbound, outbound: outbound, session: session, decided: decided.continuation)
                }
                var closing: Closing?
                await capture.run(session) {
                    closing = await decided.stream.first { _ in true } ?? nil
                    if closing == nil && session.stopReason == nil { session.markDisconnected() }
                }
                replies.continuation.finish()
                await readout.value
                // Closed only once the session is closed in the store: a page that sees 1000 knows its
                // results are all written.
                if let closing { try? await outbound.close(closing.code, reason: Self.reason(closing.reason)) }
                group.cancelAll()
            }
        })
        group.get(":secret/stimulus") { _, context -> Response in
            let link = try await store.participantLink(secret: try context.parameters.require("secret"))
            guard let stimulus = link.stimulus else { throw HTTPError(.notFound, message: "this link has no stimulus") }
            return try await StimulusResponse.make(stimulus, library: library, context: context)
        }
        group.post(":secret/withdraw") { _, context -> PrivacyStore.Withdrawal in
            try await capture.withdraw(secret: try context.parameters.require("secret"))
        }
    }

    struct Ready: Encodable {
        var type = "ready"
        var session: String
        var fps: Double?
        var maxFrameBytes: Int
        var maxFps: Double
        /// For a resumed session: frames before this media time are already stored and are ignored.
        var resumeFromMs: Double?
        /// `device` when the page analyses its own frames, with what it fetches and must report.
        var analysis: AnalysisLocation
        var kernel: DeviceKernel.Manifest?
        /// The most results a device session may send in one message.
        var maxFramesPerMessage: Int?
        /// How the camera reaches the server (server analysis): `jpeg` or `webrtc`.
        var transport: CaptureTransport?
        /// For WebRTC: what the page's track must be.
        var webrtc: WebRTCOffer?
    }

    /// What a WebRTC page sets up: the ICE servers, the track's rate and its largest size.
    struct WebRTCOffer: Encodable {
        var iceServers: [BrowserICEServer]
        var fps: Double
        var maxWidth: Int
        var maxHeight: Int
        var maxClockPairs: Int
    }

    /// As a browser's `RTCIceServer` takes it.
    struct BrowserICEServer: Encodable {
        var urls: String
        var username: String?
        var credential: String?
    }

    /// The transport the page asks for in its socket's address (`?transport=webrtc`); JPEG otherwise.
    static func requestedTransport(_ request: Request) -> CaptureTransport {
        request.uri.queryParameters.get("transport").flatMap(CaptureTransport.init(rawValue:)) ?? .jpeg
    }

    /// How a WebRTC page places its frames on the stimulus clock (`&clock=sender-reports` from a browser
    /// without the encoded-frame API); by each encoded frame's pair otherwise.
    static func requestedClock(_ request: Request) -> StimulusClockMapping {
        request.uri.queryParameters.get("clock").flatMap(StimulusClockMapping.init(rawValue:)) ?? .encodedFrames
    }

    /// The media times of records just committed to the store (a frame's time, a window's start).
    struct Stored: Encodable {
        var type = "stored"
        var tMs: [Double]
    }

    /// Asks the page to pause (and why), or to go on.
    struct Hold: Encodable {
        var type: String
        var reason: String?
        static let storageDelayed = "the server cannot save results at the moment; the session goes on once it can"
    }

    struct Rate: Encodable {
        var type = "rate"
        var fps: Double
    }

    struct Readout: Encodable {
        var type = "readout"
        var points: [LiveFeed.SessionPoint]
    }

    struct Command: Decodable {
        var type: String
    }

    /// How the server closes a socket.
    struct Closing: Sendable {
        var code: WebSocketErrorCode
        var reason: String
    }

    /// Reads the socket until it closes: the page's frames go to the capture until the page ends,
    /// goes away or breaks a rule, which is `decided` (how to close the socket, or nil when it is
    /// already closed); after that whatever comes is read and dropped, so control frames are answered.
    private func ingest(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, session: CaptureSession,
                        decided: AsyncStream<Closing?>.Continuation) async {
        let settings = capture.settings
        // Messages up to twice the limit reach the size check and get its reason; larger ones are
        // refused by the WebSocket layer itself, also with 1009.
        var messages = inbound.messages(maxSize: 2 * settings.maximumFrameBytes + FrameMessage.headerBytes).makeAsyncIterator()
        let closing = await take(&messages, outbound: outbound, session: session)
        decided.yield(closing)
        decided.finish()
        guard closing != nil else { return }
        do {
            while try await messages.next() != nil {}
        } catch {
            // The socket closed or failed: nothing more to read.
        }
    }

    /// Feeds the page's frames to the capture until the page ends, goes away or breaks a rule;
    /// returns how to close the socket, or nil when it is already closed.
    private func take(_ messages: inout WebSocketInboundMessageStream.AsyncIterator, outbound: WebSocketOutboundWriter,
                      session: CaptureSession) async -> Closing? {
        let settings = capture.settings
        var limit = FrameRateLimit(framesPerSecond: settings.maximumFramesPerSecond)
        // A WebRTC page sends one clock pair per frame as it is encoded (up to 30 a second), and its
        // candidates at the start.
        var signalling = FrameRateLimit(framesPerSecond: WebRTCMessage.Limit.messagesPerSecond)
        let start = ContinuousClock.now
        var sentRate = capture.requestedRate(session)
        func close(_ code: WebSocketErrorCode, _ reason: String) -> Closing { Closing(code: code, reason: reason) }
        do {
            let device = session.analysis.location == .device
            try await outbound.writeTextMessage(Self.json(Ready(
                session: session.sessionID, fps: sentRate, maxFrameBytes: settings.maximumFrameBytes,
                maxFps: device ? DeviceMessage.Limit.framesPerSecond : settings.maximumFramesPerSecond,
                resumeFromMs: session.resumeFrom, analysis: session.analysis.location,
                kernel: device ? capture.deviceKernel?.manifest : nil,
                maxFramesPerMessage: device ? DeviceMessage.Limit.framesPerMessage : nil,
                transport: session.analysis.transport, webrtc: webRTCOffer(for: session))))
            while let message = try await messages.next() {
                if session.stopReason != nil { return nil }
                switch message {
                case .binary(let buffer):
                    let frame: FrameMessage
                    do {
                        frame = try FrameMessage(parsing: buffer.readableBytesView)
                    } catch {
                        return close(.dataInconsistentWithMessage, error.description)
                    }
                    guard limit.admit(atMilliseconds: start.duration(to: .now).milliseconds) else {
                        return close(.policyViolation, "more than \(Int(settings.maximumFramesPerSecond)) frames per second")
                    }
                    do {
                        _ = try session.accept(.frame(frame))
                    } catch {
                        return refuse(error, session: session)
                    }
                    if let error = capture.streamError(session) {
                        session.stop(CaptureSession.stop(for: error))
                        return nil
                    }
                    let rate = capture.requestedRate(session)
                    if let rate, rate != sentRate {
                        sentRate = rate
                        try await outbound.writeTextMessage(Self.json(Rate(fps: rate)))
                    }
                    session.publishHealth()
                case .text(let text):
                    // Text messages are small (commands, device results); a big one is refused before parsing.
                    guard text.utf8.count <= DeviceMessage.Limit.messageBytes else {
                        if session.analysis.location == .device { return refuse(.device(.tooLarge), session: session) }
                        return close(.messageTooLarge, "a text message over \(DeviceMessage.Limit.messageBytes / 1024) KB")
                    }
                    guard let command = try? JSONDecoder().decode(Command.self, from: Data(text.utf8)) else {
                        if session.analysis.location == .device {
                            return refuse(.device(.malformed("not JSON with a \"type\"")), session: session)
                        }
                        return close(.dataInconsistentWithMessage, "text messages are JSON objects with a \"type\"")
                    }
                    switch command.type {
                    case "end": return close(.normalClosure, "session ended")
                    case "pause", "resume": continue
                    case "device", "results":
                        do {
                            let input: CaptureInput = command.type == "device"
                                ? .deviceHello(try DeviceMessage.decode(DeviceMessage.Hello.self, from: text))
                                : .deviceResults(try DeviceMessage.decode(DeviceMessage.Results.self, from: text))
                            _ = try session.accept(input)
                        } catch let error as DeviceMessage.Refusal {
                            return refuse(.device(error), session: session)
                        } catch let error as CaptureRefusal {
                            return refuse(error, session: session)
                        } catch {
                            return close(.dataInconsistentWithMessage, "malformed device message")
                        }
                        session.publishHealth()
                    case "webrtc-offer", "ice", "clock":
                        do {
                            let input: CaptureInput = switch command.type {
                            case "webrtc-offer": .webRTCOffer(try WebRTCMessage.offer(from: text))
                            case "ice": .iceCandidate(try WebRTCMessage.candidate(from: text))
                            default: .clock(try WebRTCMessage.clock(from: text))
                            }
                            guard signalling.admit(atMilliseconds: start.duration(to: .now).milliseconds) else {
                                return close(.policyViolation, "more than \(Int(WebRTCMessage.Limit.messagesPerSecond)) WebRTC messages per second")
                            }
                            _ = try session.accept(input)
                        } catch let error as WebRTCMessage.Refusal {
                            return refuse(.webRTC(error), session: session)
                        } catch let error as CaptureRefusal {
                            return refuse(error, session: session)
                        } catch {
                            return close(.dataInconsistentWithMessage, "malformed WebRTC message")
                        }
                        if let error = capture.streamError(session) {
                            session.stop(CaptureSession.stop(for: error))
                            return nil
                        }
                        session.publishHealth()
                    default: return close(.unacceptableData, "unknown message type")
                    }
                }
            }
        } catch {
            // The socket failed or the client went away: the session closes with what it has.
        }
        return nil
    }

    /// Counts a refusal of the page's input and says how to close its socket: 1009 too large, 1007
    /// what cannot be a frame or a result (malformed, values out of range, times out of order), 1008
    /// what breaks the session's rules (too fast, other files than served, the other kind of analysis).
    private func refuse(_ refusal: CaptureRefusal, session: CaptureSession) -> Closing {
        let code: WebSocketErrorCode
        switch refusal {
        case .frame(let rejection):
            capture.refused(rejection, session: session)
            switch rejection {
            case .tooLarge, .tooManyPixels: code = .messageTooLarge
            case .notJPEG, .malformed: code = .dataInconsistentWithMessage
            }
        case .device(let reason):
            capture.refused(reason, session: session)
            switch reason {
            case .tooLarge: code = .messageTooLarge
            case .malformed, .invalid, .time: code = .dataInconsistentWithMessage
            case .hashes, .noHello, .tooFast: code = .policyViolation
            }
        case .webRTC(let reason):
            switch reason {
            case .tooLarge: code = .messageTooLarge
            case .malformed: code = .dataInconsistentWithMessage
            case .outOfOrder: code = .policyViolation
            }
        case .wrongAnalysis, .wrongTransport:
            code = .policyViolation
        }
        return Closing(code: code, reason: Self.reason(refusal.description))
    }

    /// What a WebRTC session's page sets its track up with; nil for other sessions.
    private func webRTCOffer(for session: CaptureSession) -> WebRTCOffer? {
        guard session.analysis.transport == .webrtc, let webRTC = capture.settings.webRTC else { return nil }
        return WebRTCOffer(
            iceServers: webRTC.iceServers.map { BrowserICEServer(urls: $0.browserURL, username: $0.username, credential: $0.credential) },
            fps: capture.captureFramesPerSecond(session.link.study.definition),
            maxWidth: webRTC.maximumWidth, maxHeight: webRTC.maximumHeight, maxClockPairs: WebRTCMessage.Limit.pairsPerMessage)
    }

    /// Why a link cannot open a capture socket, as an HTTP status and a fixed message.
    static func refusal(for error: any Error) -> (HTTPResponse.Status, String) {
        switch error {
        case StoreError.unknownInvitation: (.notFound, "this participant link does not exist")
        case StoreError.invitationUnusable(let reason): (.gone, "this participant link \(reason)")
        case StoreError.noConsent: (.gone, "consent given through this link was withdrawn")
        case is CaptureService.Unavailable: (.serviceUnavailable, "\(error)")
        case let error as StoreError:
            switch ErrorMiddleware.answer(for: error) {
            case .refusal(let status, let message): (status, message)
            case .failure(let status): (status, "the server could not open this session; try again")
            }
        default: (.internalServerError, "the server could not open this session; try again")
        }
    }

    /// A close reason fits in 123 bytes.
    static func reason(_ text: String) -> String {
        var reason = text
        while reason.utf8.count > 123 { reason.removeLast() }
        return reason
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try AffectJSON.encoder().encode(value), as: UTF8.self)
    }
}

extension PrivacyStore.Withdrawal: ResponseEncodable {}
