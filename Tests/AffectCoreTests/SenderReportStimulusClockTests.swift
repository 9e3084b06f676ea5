import AffectCore
import Testing

@Suite struct SenderReportStimulusClockTests {
    /// NTP time (seconds since 1900, 32.32 fixed point) of a Unix time in ms.
    static func ntp(unixMilliseconds: Double) -> UInt64 {
        let seconds = (unixMilliseconds / 1000).rounded(.down)
        let fraction = (unixMilliseconds / 1000 - seconds) * 4_294_967_296
        return (UInt64(seconds) + 2_208_988_800) << 32 | UInt64(fraction)
    }

    static let wall0 = 1_796_000_000_000.0

    /// A frame's RTP timestamp goes through the sender's report to its wall-clock time, and through the
    /// page's pairs to the stimulus time; between pairs the stimulus is taken to play at normal speed.
    @Test func framesArePlacedThroughTheSendersWallClock() throws {
        var clock = SenderReportStimulusClock()
        let reportRTP: UInt32 = .max - 45_000  // half a second before the wrap
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: reportRTP) == nil, "no report yet")
        clock.recordSenderReport(rtpTimestamp: reportRTP, ntpTime: Self.ntp(unixMilliseconds: Self.wall0 + 250))
        #expect(clock.hasSenderReport)
        let wall = try #require(clock.wallMilliseconds(ofRTPTimestamp: reportRTP &+ 90_000))
        #expect(abs(wall - (Self.wall0 + 1250)) < 0.01, "a second later, past the wrap")
        #expect(abs(try #require(clock.wallMilliseconds(ofRTPTimestamp: reportRTP &- 9000)) - (Self.wall0 + 150)) < 0.01, "before the report")
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: reportRTP) == nil, "no pair from the page yet")

        clock.recordPlaying(atWallMilliseconds: Self.wall0, mediaMilliseconds: 5000)
        clock.recordPlaying(atWallMilliseconds: Self.wall0 + 100, mediaMilliseconds: 5100)
        let media = try #require(clock.mediaMilliseconds(ofRTPTimestamp: reportRTP &+ 3000))  // wall0 + 283.3
        #expect(abs(media - 5283.33) < 0.01)
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: reportRTP &- 27_000) == nil, "before the page's first pair")
        // More than the limit past the page's last pair: not placed until a newer pair comes.
        let late = reportRTP &+ UInt32((150 + SenderReportStimulusClock.extrapolationLimitMilliseconds + 10) * 90)
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: late) == nil)
        clock.recordPlaying(atWallMilliseconds: Self.wall0 + 600, mediaMilliseconds: 5600)
        #expect(clock.mediaMilliseconds(ofRTPTimestamp: late) != nil)
    }

    /// Frames captured while the stimulus was stopped have no place; placing starts again at the next pair.
    @Test func aStoppedStimulusPlacesNoFrame() throws {
        var clock = SenderReportStimulusClock()
        clock.recordSenderReport(rtpTimestamp: 0, ntpTime: Self.ntp(unixMilliseconds: Self.wall0))
        clock.recordPlaying(atWallMilliseconds: Self.wall0, mediaMilliseconds: 0)
        clock.recordStopped(atWallMilliseconds: Self.wall0 + 50)
        clock.recordPlaying(atWallMilliseconds: Self.wall0 + 2000, mediaMilliseconds: 50)
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + 40) == 40)
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + 60) == nil, "paused")
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + 1990) == nil, "still paused")
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + 2010) == 60)
        // A mark older than the newest is ignored (the page's clock does not go back).
        clock.recordPlaying(atWallMilliseconds: Self.wall0 + 70, mediaMilliseconds: 70)
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + 80) == nil)
    }

    /// However many marks a page sends, the newest `capacity` are kept; an NTP time before 1970 is no report.
    @Test func theClockIsBounded() {
        var clock = SenderReportStimulusClock()
        for index in 0..<(SenderReportStimulusClock.capacity * 3) {
            clock.recordPlaying(atWallMilliseconds: Self.wall0 + Double(index * 100), mediaMilliseconds: Double(index * 100))
        }
        let last = Double((SenderReportStimulusClock.capacity * 3 - 1) * 100)
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + last + 10) == last + 10)
        let oldestKept = Double(SenderReportStimulusClock.capacity * 2 * 100)
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + oldestKept + 10) == oldestKept + 10)
        #expect(clock.mediaMilliseconds(atWallMilliseconds: Self.wall0 + oldestKept - 90) == nil, "forgotten")
        clock.recordSenderReport(rtpTimestamp: 0, ntpTime: 1 << 32)
        #expect(!clock.hasSenderReport)
    }
}
