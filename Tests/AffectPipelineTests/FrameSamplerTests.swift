import AffectPipeline
import Testing

@Suite struct FrameSamplerTests {
    func sampledIndices(policy: SamplingPolicy, fps: Double, frames: Int) -> [Int] {
        var sampler = FrameSampler(policy: policy)
        return (0..<frames).filter { sampler.shouldSample(timeMilliseconds: Double($0) * 1000 / fps) }
    }

    @Test func fiveOfTwentyFiveFramesPerSecond() {
        #expect(sampledIndices(policy: .fixed(framesPerSecond: 5), fps: 25, frames: 26) == [0, 5, 10, 15, 20, 25])
    }

    @Test func rateHoldsWithoutDriftAtNonIntegerRatios() {
        // 29.97 fps sampled at 5 fps: 8 s should give 40 samples, evenly spread.
        let indices = sampledIndices(policy: .fixed(framesPerSecond: 5), fps: 29.97, frames: 240)
        #expect(indices.count == 40)
        let gaps = zip(indices.dropFirst(), indices).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 == 6 || $0 == 5 })
    }

    @Test func everyFrameTakesAll() {
        #expect(sampledIndices(policy: .everyFrame, fps: 25, frames: 10) == Array(0..<10))
    }

    @Test func rateAboveTheSourceTakesEveryFrame() {
        #expect(sampledIndices(policy: .fixed(framesPerSecond: 50), fps: 25, frames: 10) == Array(0..<10))
    }

    @Test func gapInALiveStreamDoesNotCauseABurst() {
        var sampler = FrameSampler(policy: .fixed(framesPerSecond: 2))
        let decisions = [0, 5000, 5100, 5500].map { sampler.shouldSample(timeMilliseconds: $0) }
        #expect(decisions == [true, true, false, true])
    }
}
