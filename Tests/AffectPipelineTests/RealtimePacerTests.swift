import AffectPipeline
import Foundation
import Testing

@Suite struct RealtimePacerTests {
    /// The clock starts at the first frame: a source that opens slowly, or a stream that starts late
    /// or mid-file, is not "late" for every frame after it (which would unpace it entirely).
    @Test func clockStartsAtTheFirstFrame() {
        var pacer = RealtimePacer()
        let start = ContinuousClock.now
        _ = pacer.wait(until: 5000)
        #expect(start.duration(to: .now) < .seconds(2), "the first frame is due at once, wherever it is in the file")
        #expect(pacer.lastLatenessMilliseconds == 0)
    }

    @Test func framesReadBehindTheirTimeReportLateness() {
        var pacer = RealtimePacer()
        _ = pacer.wait(until: 0)
        Thread.sleep(forTimeInterval: 0.2)
        _ = pacer.wait(until: 40)
        #expect(pacer.lastLatenessMilliseconds >= 100, "read 200 ms after start, due at 40 ms")
        _ = pacer.wait(until: 400)
        #expect(pacer.lastLatenessMilliseconds == 0, "a frame ahead of time is waited for, not late")
    }
}
