import Foundation
import GSTBridgeLoader
import Synchronization

/// One participant's camera track, received by GStreamer's webrtcbin and decoded in memory.
///
/// Signalling goes through ``offer(_:)`` and ``addCandidate(mline:_:)``; what the receiver says back
/// (its answer, its ICE candidates, failure) comes out of `onEvent`, and each decoded frame out of
/// `onFrame`, both on GStreamer's threads. The frame's bytes are valid only during the call and are
/// zeroed after it; nothing is written anywhere.
public final class WebRTCReceiver: Sendable {
    /// What the server's side of every connection uses.
    public struct Options: Sendable {
        /// STUN and TURN servers, for participants behind NAT (none: host candidates only, for a LAN).
        public var iceServers: [ICEServer]
        /// Local addresses ICE may use; empty for every interface but loopback.
        public var addresses: [String]
        /// Local UDP ports ICE may use; nil for any.
        public var ports: ClosedRange<Int>?
        /// Decoded frames with more pixels end the session.
        public var maximumPixels: Int

        public init(iceServers: [ICEServer] = [], addresses: [String] = [], ports: ClosedRange<Int>? = nil, maximumPixels: Int) {
            self.iceServers = iceServers
            self.addresses = addresses
            self.ports = ports
            self.maximumPixels = maximumPixels
        }
    }

    /// What the receiver says besides frames.
    public enum Event: Sendable, Equatable {
        /// The SDP answer to the page's offer.
        case answer(String)
        /// One of the server's ICE candidates, for the page.
        case candidate(mline: Int, String)
        /// The offer of a sender (``WebRTCSender``), to send to the server.
        case offer(String)
        /// The first frame is decoded (a receiver), or ICE has connected (a sender).
        case connected
        /// The connection or the pipeline failed; no more frames come. For logs, not for the page.
        case failed(String)
        /// An RTCP sender report of the video: the sender's wall clock (NTP's 64-bit fixed point) when its
        /// RTP clock read `rtpTimestamp`.
        case senderReport(rtpTimestamp: UInt32, ntpTime: UInt64)
    }

    /// One decoded frame: tightly packed I420, valid only during the call.
    public struct Frame {
        public var i420: UnsafeRawBufferPointer
        public var width: Int
        public var height: Int
        /// The RTP timestamp the frame carried (90 kHz), when the receiver could follow it.
        public var rtpTimestamp: UInt32?
    }

    /// Why a receiver could not be made or an offer taken.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    // The receiver's C handle, nil once closed. Calls into it hold the lock, so none races `close`.
    private let handle: Mutex<OpaquePointer?>
    private let handlers: Unmanaged<ReceiverHandlers>

    /// Starts a receiver waiting for an offer (initialising GStreamer first, once per process).
    public init(options: Options, onEvent: @escaping @Sendable (Event) -> Void,
                onFrame: @escaping @Sendable (Frame) -> Void) throws(Failure) {
        do {
            try WebRTCRuntime.initialize()
        } catch {
            throw Failure(description: error.description)
        }
        let handlers = Unmanaged.passRetained(ReceiverHandlers(onEvent: onEvent, onFrame: onFrame))
        var stun: String?
        var turns: [String] = []
        for server in options.iceServers {
            if server.kind == .stun { stun = stun ?? server.gstreamerURL } else { turns.append(server.gstreamerURL) }
        }
        var error = [CChar](repeating: 0, count: 256)
        let created: OpaquePointer? = withOptionalCString(stun) { stunPointer in
            withCStrings(turns) { turnPointers in
              withCStrings(options.addresses) { addressPointers in
                turnPointers.withUnsafeBufferPointer { turnBuffer in
                  addressPointers.withUnsafeBufferPointer { addressBuffer in
                    var raw = agst_receiver_options()
                    raw.stun_server = stunPointer
                    raw.turn_servers = turnBuffer.baseAddress
                    raw.turn_count = Int32(turnBuffer.count)
                    raw.addresses = addressBuffer.baseAddress
                    raw.address_count = Int32(addressBuffer.count)
                    raw.min_port = UInt32(options.ports?.lowerBound ?? 0)
                    raw.max_port = UInt32(options.ports?.upperBound ?? 0)
                    raw.maximum_pixels = options.maximumPixels
                    return gstbridge_receiver_create(&raw, receiverEvent, receiverFrame, receiverSenderReport, handlers.toOpaque(),
                                                &error, error.count)
                  }
                }
              }
            }
        }
        guard let created else {
            handlers.release()
            throw Failure(description: String(bridgeMessage: error))
        }
        self.handle = Mutex(created)
        self.handlers = handlers
    }

    deinit {
        close()
        handlers.release()
    }

    /// Takes the page's SDP offer; the answer comes out as ``Event/answer(_:)``.
    public func offer(_ sdp: String) throws(Failure) {
        let refusal: String? = handle.withLock { handle in
            guard let handle else { return "the receiver is closed" }
            var error = [CChar](repeating: 0, count: 256)
            guard gstbridge_receiver_offer(handle, sdp, &error, error.count) == 0 else {
                return String(bridgeMessage: error)
            }
            return nil
        }
        if let refusal { throw Failure(description: refusal) }
    }

    /// Adds one of the page's ICE candidates.
    public func addCandidate(mline: Int, _ candidate: String) {
        handle.withLock { handle in
            guard let handle else { return }
            gstbridge_receiver_add_candidate(handle, Int32(mline), candidate)
        }
    }

    /// Stops the pipeline; no event or frame comes after this returns. Safe to call more than once.
    public func close() {
        handle.withLock { handle in
            guard let open = handle else { return }
            handle = nil
            gstbridge_receiver_destroy(open)
        }
    }
}

/// The page-facing closures a C callback's context points to; retained by the receiver until it is freed.
private final class ReceiverHandlers: Sendable {
    let onEvent: @Sendable (WebRTCReceiver.Event) -> Void
    let onFrame: @Sendable (WebRTCReceiver.Frame) -> Void

    init(onEvent: @escaping @Sendable (WebRTCReceiver.Event) -> Void, onFrame: @escaping @Sendable (WebRTCReceiver.Frame) -> Void) {
        self.onEvent = onEvent
        self.onFrame = onFrame
    }
}

private func receiverEvent(_ context: UnsafeMutableRawPointer?, _ kind: Int32, _ text: UnsafePointer<CChar>?, _ mline: Int32) {
    guard let context else { return }
    let handlers = Unmanaged<ReceiverHandlers>.fromOpaque(context).takeUnretainedValue()
    let text = text.map { String(cString: $0) } ?? ""
    // A kind the receiver does not know is a failure: it cannot go on from what it did not understand.
    handlers.onEvent(WebRTCReceiver.Event(bridgeKind: kind, text: text, mline: mline) ?? .failed(text))
}

extension WebRTCReceiver.Event {
    /// An event as the bridge's callbacks (receiver's and sender's) report it; nil for an unknown kind.
    init?(bridgeKind kind: Int32, text: String, mline: Int32) {
        switch kind {
        case Int32(AGST_EVENT_ANSWER.rawValue): self = .answer(text)
        case Int32(AGST_EVENT_CANDIDATE.rawValue): self = .candidate(mline: Int(mline), text)
        case Int32(AGST_EVENT_CONNECTED.rawValue): self = .connected
        case Int32(AGST_EVENT_FAILED.rawValue): self = .failed(text)
        case AGST_EVENT_OFFER: self = .offer(text)
        default: return nil
        }
    }
}

private func receiverFrame(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: Int, _ width: Int32,
                           _ height: Int32, _ rtp: UInt32, _ hasRTP: Int32) {
    guard let context, let bytes else { return }
    let handlers = Unmanaged<ReceiverHandlers>.fromOpaque(context).takeUnretainedValue()
    handlers.onFrame(.init(i420: UnsafeRawBufferPointer(start: bytes, count: length), width: Int(width), height: Int(height),
                           rtpTimestamp: hasRTP != 0 ? rtp : nil))
}

private func receiverSenderReport(_ context: UnsafeMutableRawPointer?, _ rtp: UInt32, _ ntp: UInt64) {
    guard let context else { return }
    Unmanaged<ReceiverHandlers>.fromOpaque(context).takeUnretainedValue().onEvent(.senderReport(rtpTimestamp: rtp, ntpTime: ntp))
}
