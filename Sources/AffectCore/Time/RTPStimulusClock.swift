/// Places frames received over WebRTC on the stimulus clock.
///
/// The page reports, for each frame it encodes, the RTP timestamp the frame carries on the wire and the
/// stimulus's media time when it was captured (nothing while the stimulus is paused or held). A decoded
/// frame is placed by looking its RTP timestamp up here: exact, not estimated from clock drift, and a
/// frame the page did not report (paused) has no place and is not analysed.
///
/// Bounded: the newest ``capacity`` pairs are kept (about 8 s at 30 fps), far more than a frame spends
/// between encoder and decoder.
public struct RTPStimulusClock: Sendable {
    public static let capacity = 256

    /// One frame as the page reports it.
    public struct Pair: Sendable, Hashable {
        public var rtpTimestamp: UInt32
        public var mediaMilliseconds: Double

        public init(rtpTimestamp: UInt32, mediaMilliseconds: Double) {
            self.rtpTimestamp = rtpTimestamp
            self.mediaMilliseconds = mediaMilliseconds
        }
    }

    private var times: [UInt32: Double] = [:]
    private var order: [UInt32] = []
    private var oldest = 0

    public init() {}

    /// Pairs held now.
    public var count: Int { times.count }

    /// Records a pair; the oldest is forgotten beyond ``capacity``. A timestamp reported again takes
    /// the newer media time (RTP timestamps wrap after about 13 hours at 90 kHz).
    public mutating func record(_ pair: Pair) {
        if times.updateValue(pair.mediaMilliseconds, forKey: pair.rtpTimestamp) != nil { return }
        if order.count < Self.capacity {
            order.append(pair.rtpTimestamp)
            return
        }
        times.removeValue(forKey: order[oldest])
        order[oldest] = pair.rtpTimestamp
        oldest = (oldest + 1) % Self.capacity
    }

    /// The media time of the frame with this RTP timestamp, if the page reported it.
    public func mediaMilliseconds(ofRTPTimestamp timestamp: UInt32) -> Double? {
        times[timestamp]
    }
}
