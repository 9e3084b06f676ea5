import AffectCore
import AffectVision
@testable import AffectWebRTC
import Foundation
import Testing

/// The frame source between the receiver and the engine: frames are placed on the stimulus clock by
/// the page's pairs, and only placed frames reach the engine.
@Suite struct WebRTCFrameSourceTests {
    /// A 16x16 grey I420 frame whose every pixel has luma `level`.
    static func frame(level: UInt8) -> [UInt8] {
        [UInt8](repeating: level, count: 16 * 16) + [UInt8](repeating: 128, count: 16 * 16 / 2)
    }

    /// Hands a frame over as the receiver does.
    static func receive(_ source: WebRTCFrameSource, level: UInt8, rtp: UInt32?) {
        frame(level: level).withUnsafeBytes { raw in
            source.receive(.init(i420: raw, width: 16, height: 16, rtpTimestamp: rtp))
        }
    }

    /// The luma of the frame the source holds now (from its BGR pixels, converted back).
    static func level(of source: WebRTCFrameSource) throws -> UInt8? {
        let taken = try source.currentImage().bgrBytes()
        return (0...255).map(UInt8.init).first { level in
            (try? Image(i420: Data(frame(level: level)), width: 16, height: 16).bgrBytes()) == taken
        }
    }

    @Test func onlyFramesThePageReportedReachTheEngine() throws {
        let source = WebRTCFrameSource(name: "test", framesPerSecond: 30, timeoutSeconds: 1)
        // Reported before it is decoded (the usual order): placed at once.
        source.record(.init(frames: [.init(rtpTimestamp: 3000, mediaMilliseconds: 100)]))
        Self.receive(source, level: 50, rtp: 3000)
        var stamp = try #require(try source.advance())
        #expect(stamp.timeMilliseconds == 100 && stamp.index == 0)
        #expect(try Self.level(of: source) == 50, "the frame the pair named")
        // Decoded first, reported after: placed when the pair comes.
        Self.receive(source, level: 60, rtp: 6000)
        source.record(.init(frames: [.init(rtpTimestamp: 6000, mediaMilliseconds: 133)]))
        stamp = try #require(try source.advance())
        #expect(stamp.timeMilliseconds == 133)
        #expect(try Self.level(of: source) == 60)
        // Never reported (the stimulus was paused), then a newer one that is: only the newer is analysed.
        Self.receive(source, level: 70, rtp: 9000)
        Self.receive(source, level: 80, rtp: 12000)
        source.record(.init(frames: [.init(rtpTimestamp: 12000, mediaMilliseconds: 200)]))
        stamp = try #require(try source.advance())
        #expect(stamp.timeMilliseconds == 200)
        #expect(try Self.level(of: source) == 80)
        #expect(source.counts.unreported == 1)
        // Two placed before the engine takes one: the older is dropped and counted.
        source.record(.init(frames: [.init(rtpTimestamp: 15000, mediaMilliseconds: 233), .init(rtpTimestamp: 18000, mediaMilliseconds: 266)]))
        Self.receive(source, level: 90, rtp: 15000)
        Self.receive(source, level: 100, rtp: 18000)
        stamp = try #require(try source.advance())
        #expect(stamp.timeMilliseconds == 266)
        #expect(source.dropped == 1)
        // A frame reported at a time not after the last (a seek back) is not placed twice on the clock.
        source.record(.init(frames: [.init(rtpTimestamp: 21000, mediaMilliseconds: 150)]))
        Self.receive(source, level: 110, rtp: 21000)
        // A frame whose RTP timestamp the receiver could not follow is never placed.
        Self.receive(source, level: 120, rtp: nil)
        source.close()
        #expect(try source.advance() == nil, "closed, with nothing placed")
        #expect(source.counts.decoded == 7)
    }

    @Test func aTrackThatStopsStallsTheStream() {
        let source = WebRTCFrameSource(name: "test", framesPerSecond: 30, timeoutSeconds: 0.2)
        Self.receive(source, level: 10, rtp: 3000)
        #expect(throws: VisionError.self) { try source.advance() }
    }
}

extension WebRTCFrameSourceTests {
    /// A browser without the encoded-frame API: frames are placed through its sender reports and the
    /// page's wall-clock pairs, and none while the stimulus is stopped.
    @Test func senderReportsPlaceFramesFromBrowsersWithoutTheEncodedFrameAPI() throws {
        let source = WebRTCFrameSource(name: "test", framesPerSecond: 30, timeoutSeconds: 1, mapping: .senderReports)
        let wall0 = 1_796_000_000_000.0
        source.record(WebRTCMessage.ClockReport(wall: [.init(wallMilliseconds: wall0, mediaMilliseconds: 1000)]))
        // Decoded before the first sender report: held until it comes.
        Self.receive(source, level: 50, rtp: 93_000)
        source.recordSenderReport(rtpTimestamp: 90_000, ntpTime: (UInt64(wall0 / 1000) + 2_208_988_800) << 32)
        var stamp = try #require(try source.advance())
        #expect(abs(stamp.timeMilliseconds - 1033.33) < 0.01, "3000 ticks after the report, 33 ms after the pair")
        #expect(try Self.level(of: source) == 50)
        // The stimulus stops: a frame captured after is never placed.
        source.record(WebRTCMessage.ClockReport(stoppedAtWallMilliseconds: wall0 + 50))
        Self.receive(source, level: 60, rtp: 96_000)
        source.record(WebRTCMessage.ClockReport(wall: [.init(wallMilliseconds: wall0 + 500, mediaMilliseconds: 1050)]))
        Self.receive(source, level: 70, rtp: 90_000 + 600 * 90)
        stamp = try #require(try source.advance())
        #expect(abs(stamp.timeMilliseconds - 1150) < 0.01)
        #expect(try Self.level(of: source) == 70)
        #expect(source.counts.unreported == 1)
        #expect(source.senderReportResidual == nil, "nothing to compare with")
    }

    /// Where the page sends both, frames are placed exactly and the sender-report mapping is measured.
    @Test func theSenderReportMappingIsMeasuredAgainstTheExactOne() throws {
        let source = WebRTCFrameSource(name: "test", framesPerSecond: 30, timeoutSeconds: 1)
        let wall0 = 1_796_000_000_000.0
        source.recordSenderReport(rtpTimestamp: 0, ntpTime: (UInt64(wall0 / 1000) + 2_208_988_800) << 32)
        source.record(WebRTCMessage.ClockReport(frames: [.init(rtpTimestamp: 3000, mediaMilliseconds: 40)],
                                                wall: [.init(wallMilliseconds: wall0, mediaMilliseconds: 0)]))
        Self.receive(source, level: 50, rtp: 3000)
        #expect(try #require(try source.advance()).timeMilliseconds == 40, "placed exactly")
        let residual = try #require(source.senderReportResidual)
        #expect(residual.frames == 1 && abs(residual.median - 6.67) < 0.01, "33.3 ms estimated against 40")
    }
}
