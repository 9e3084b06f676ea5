import AffectCore
import AffectPipeline
import Testing

@Suite struct BlinkDetectorTests {
    /// Feeds a 25 fps series; returns the blinks found.
    static func blinks(_ series: [Double], detector: BlinkDetector = BlinkDetector()) -> [Blink] {
        var detector = detector
        return series.enumerated().compactMap { index, value in
            detector.observe(track: 1, eyesOpen: value, at: Double(index) * 40)
        }
    }

    @Test func oneBlinkAgainstTheTracksOwnLevel() {
        // A person whose eyes rest at 0.6: a dip to 0.3 for three frames is one blink.
        let series = Array(repeating: 0.6, count: 10) + [0.3, 0.25, 0.45, 0.6, 0.6]
        #expect(Self.blinks(series) == [Blink(onsetMilliseconds: 400, durationMilliseconds: 120)])
    }

    @Test func lidsFlutteringBelowReopenCountOnce() {
        // Between the close (0.7 x level) and reopen (0.85 x level) limits the blink stays open.
        let series = Array(repeating: 1.0, count: 10) + [0.5, 0.8, 0.6, 0.8, 0.9, 1.0]
        #expect(Self.blinks(series) == [Blink(onsetMilliseconds: 400, durationMilliseconds: 160)])
    }

    @Test func longClosuresSmallDipsAndNewTracksAreNotBlinks() {
        let shut = Array(repeating: 1.0, count: 10) + Array(repeating: 0.1, count: 30) + [1.0]
        #expect(Self.blinks(shut).isEmpty, "1.2 s shut is not a blink")
        let dip = Array(repeating: 1.0, count: 10) + [0.75, 1.0]
        #expect(Self.blinks(dip).isEmpty, "0.75 is above the close limit")
        let early = [1.0, 0.1, 1.0]
        #expect(Self.blinks(early).isEmpty, "no level yet")
    }
}

@Suite struct BlinkDetectorSamplingTests {
    /// At 5 analysed frames per second (200 ms apart) a blink cannot be told from a glance: none is reported.
    @Test func sparseSamplesFindNoBlinks() {
        var detector = BlinkDetector()
        let series = Array(repeating: 1.0, count: 10) + [0.2, 1.0, 1.0, 0.1, 1.0]
        let found = series.enumerated().compactMap { detector.observe(track: 1, eyesOpen: $1, at: Double($0) * 200) }
        #expect(found.isEmpty)
    }
}
