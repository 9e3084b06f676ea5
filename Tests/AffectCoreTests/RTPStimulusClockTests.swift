import AffectCore
import Testing

@Suite struct RTPStimulusClockTests {
    /// Frames are found by their exact RTP timestamp; one the page never reported (paused) has no place.
    @Test func framesArePlacedByTheirOwnTimestamp() {
        var clock = RTPStimulusClock()
        // 30 fps on RTP's 90 kHz clock, starting near the wrap (the stimulus at 25 fps).
        let start: UInt32 = .max - 3000 * 5
        for index in 0..<10 {
            clock.record(.init(rtpTimestamp: start &+ UInt32(index * 3000), mediaMilliseconds: 1000 + Double(index * 40)))
        }
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: start) == 1000)
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: start &+ 9 * 3000) == 1360, "past the wrap")
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: start &+ 1500) == nil, "no estimate between frames")
        #expect(clock.count == 10)
    }

    /// However many pairs a page sends, the clock holds the newest `capacity`.
    @Test func theClockIsBounded() {
        var clock = RTPStimulusClock()
        let total = RTPStimulusClock.capacity * 3 + 7
        for index in 0..<total {
            clock.record(.init(rtpTimestamp: UInt32(index * 3000), mediaMilliseconds: Double(index)))
        }
        #expect(clock.count == RTPStimulusClock.capacity)
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: UInt32((total - 1) * 3000)) == Double(total - 1))
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: UInt32((total - RTPStimulusClock.capacity) * 3000)) != nil)
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: UInt32((total - RTPStimulusClock.capacity - 1) * 3000)) == nil)
        // A timestamp reported again takes the newer time and no second place.
        clock.record(.init(rtpTimestamp: UInt32((total - 1) * 3000), mediaMilliseconds: -5))
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: UInt32((total - 1) * 3000)) == -5)
        #expect(clock.count == RTPStimulusClock.capacity)
    }
}
