import Foundation
import GSTBridgeLoader
import Synchronization

/// A simulated participant's camera track, for `affect bench --webrtc`: VP8 frames encoded once
/// beforehand are sent over GStreamer's webrtcbin, which makes the offer. `onSent` tells, per frame,
/// the PTS it was pushed with and the RTP timestamp it left with, which is what a page reports as its
/// clock pair.
public final class WebRTCSender: Sendable {
    /// One encoded frame.
    public struct Frame: Sendable {
        public var vp8: Data
        public var keyframe: Bool

        public init(vp8: Data, keyframe: Bool) {
            self.vp8 = vp8
            self.keyframe = keyframe
        }
    }

    // The C handle, nil once closed; calls into it hold the lock.
    private let handle: Mutex<OpaquePointer?>
    private let handlers: Unmanaged<SenderHandlers>

    /// - Parameters:
    ///   - onEvent: the offer (the SDP to send), candidates,
    ///     ICE connected, failure.
    ///   - onSent: a frame's PTS (nanoseconds) and RTP timestamp as it leaves.
    public init(addresses: [String], width: Int, height: Int, onEvent: @escaping @Sendable (WebRTCReceiver.Event) -> Void,
                onSent: @escaping @Sendable (UInt64, UInt32) -> Void) throws(WebRTCReceiver.Failure) {
        do {
            try WebRTCRuntime.initialize()
        } catch {
            throw WebRTCReceiver.Failure(description: error.description)
        }
        let handlers = Unmanaged.passRetained(SenderHandlers(onEvent: onEvent, onSent: onSent))
        var error = [CChar](repeating: 0, count: 256)
        let created: OpaquePointer? = withCStrings(addresses) { pointers in
            pointers.withUnsafeBufferPointer { addressBuffer in
                var options = agst_receiver_options()
                options.addresses = addressBuffer.baseAddress
                options.address_count = Int32(addressBuffer.count)
                return gstbridge_sender_create(&options, Int32(width), Int32(height), senderEvent, senderSent, handlers.toOpaque(),
                                          &error, error.count)
            }
        }
        guard let created else {
            handlers.release()
            throw WebRTCReceiver.Failure(description: String(bridgeMessage: error))
        }
        handle = Mutex(created)
        self.handlers = handlers
    }

    deinit {
        close()
        handlers.release()
    }

    public func answer(_ sdp: String) throws(WebRTCReceiver.Failure) {
        let refusal: String? = handle.withLock { handle in
            guard let handle else { return "the sender is closed" }
            var error = [CChar](repeating: 0, count: 256)
            guard gstbridge_sender_answer(handle, sdp, &error, error.count) == 0 else {
                return String(bridgeMessage: error)
            }
            return nil
        }
        if let refusal { throw WebRTCReceiver.Failure(description: refusal) }
    }

    public func addCandidate(mline: Int, _ candidate: String) {
        handle.withLock { handle in
            guard let handle else { return }
            gstbridge_sender_add_candidate(handle, Int32(mline), candidate)
        }
    }

    /// Sends one frame with its PTS.
    public func push(_ frame: Frame, ptsNanoseconds: UInt64) {
        handle.withLock { handle in
            guard let handle else { return }
            _ = frame.vp8.withUnsafeBytes { raw in
                gstbridge_sender_push(handle, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, ptsNanoseconds, frame.keyframe ? 1 : 0)
            }
        }
    }

    public func close() {
        handle.withLock { handle in
            guard let open = handle else { return }
            handle = nil
            gstbridge_sender_destroy(open)
        }
    }

    /// The frames of an IVF stream (VP8 as ffmpeg writes it with `-f ivf`): a 32-byte file header, then
    /// per frame a 12-byte header (size, timestamp) and the frame. A VP8 keyframe has bit 0 of its first byte clear.
    public static func frames(ivf data: Data) throws(WebRTCReceiver.Failure) -> [Frame] {
        let bytes = [UInt8](data)
        guard bytes.count >= 32, bytes.starts(with: Array("DKIF".utf8)) else {
            throw WebRTCReceiver.Failure(description: "not an IVF stream")
        }
        var frames: [Frame] = []
        var offset = Int(bytes[6]) | Int(bytes[7]) << 8
        while offset + 12 <= bytes.count {
            let size = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
            let start = offset + 12
            guard size > 0, start + size <= bytes.count else { break }
            frames.append(Frame(vp8: Data(bytes[start..<(start + size)]), keyframe: bytes[start] & 1 == 0))
            offset = start + size
        }
        guard !frames.isEmpty else { throw WebRTCReceiver.Failure(description: "the IVF stream holds no frame") }
        return frames
    }
}

private final class SenderHandlers: Sendable {
    let onEvent: @Sendable (WebRTCReceiver.Event) -> Void
    let onSent: @Sendable (UInt64, UInt32) -> Void

    init(onEvent: @escaping @Sendable (WebRTCReceiver.Event) -> Void, onSent: @escaping @Sendable (UInt64, UInt32) -> Void) {
        self.onEvent = onEvent
        self.onSent = onSent
    }
}

private func senderEvent(_ context: UnsafeMutableRawPointer?, _ kind: Int32, _ text: UnsafePointer<CChar>?, _ mline: Int32) {
    guard let context else { return }
    let handlers = Unmanaged<SenderHandlers>.fromOpaque(context).takeUnretainedValue()
    let text = text.map { String(cString: $0) } ?? ""
    if let event = WebRTCReceiver.Event(bridgeKind: kind, text: text, mline: mline) { handlers.onEvent(event) }
}

private func senderSent(_ context: UnsafeMutableRawPointer?, _ pts: UInt64, _ rtp: UInt32) {
    guard let context else { return }
    Unmanaged<SenderHandlers>.fromOpaque(context).takeUnretainedValue().onSent(pts, rtp)
}
