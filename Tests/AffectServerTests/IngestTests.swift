@testable import AffectServer
import Foundation
import NIOCore
import AffectVision
import Testing

@Suite struct IngestTests {
    @Test func theHeaderCarriesMediaAndCaptureTimeLittleEndian() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(Double(1234.5).bitPattern, endianness: .little)
        buffer.writeInteger(Double(99).bitPattern, endianness: .little)
        buffer.writeBytes([0xFF, 0xD8, 0xFF, 0xE0])
        let frame = try FrameMessage(parsing: buffer.readableBytesView)
        #expect(frame.mediaMilliseconds == 1234.5 && frame.captureMilliseconds == 99)
        #expect(frame.jpeg == Data([0xFF, 0xD8, 0xFF, 0xE0]))
        #expect(Data(buffer.readableBytesView) == frame.encoded(), "the encoder writes what the parser reads")
        #expect(throws: FrameMessage.Malformed.self) { try FrameMessage(parsing: [UInt8]([0, 1, 2])) }
        var negative = ByteBuffer()
        negative.writeInteger(Double(-1).bitPattern, endianness: .little)
        negative.writeInteger(Double.nan.bitPattern, endianness: .little)
        #expect(throws: FrameMessage.Malformed.self) { try FrameMessage(parsing: negative.readableBytesView) }
    }

    @Test func theRateLimitAllowsASecondsBurstThenTheSustainedRate() {
        var limit = FrameRateLimit(framesPerSecond: 10)
        let burst = (0..<15).filter { _ in limit.admit(atMilliseconds: 0) }.count
        #expect(burst == 10)
        let halfToken = limit.admit(atMilliseconds: 50)
        #expect(!halfToken, "half a token is not a frame")
        let wholeToken = limit.admit(atMilliseconds: 100)
        #expect(wholeToken)
        // Ten a second, evenly, forever.
        var admitted = 0
        for step in 1...100 where limit.admit(atMilliseconds: 100 + Double(step) * 100) { admitted += 1 }
        #expect(admitted == 100)
        let extra = limit.admit(atMilliseconds: 10_100)
        #expect(!extra, "and no more")
    }
}
