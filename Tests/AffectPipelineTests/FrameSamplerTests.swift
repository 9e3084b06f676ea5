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

@Suite struct AdaptiveSamplerTests {
    /// Sampled times over `duration` ms of a 25 fps source; `triggers` escalate at those times.
    func sampledTimes(duration: Double, triggers: Set<Int> = []) -> [Double] {
        var sampler = FrameSampler(policy: .adaptive(base: 2, max: 10))
        var times: [Double] = []
        for index in 0..<Int(duration / 40) {
            let time = Double(index) * 40
            if triggers.contains(index) { sampler.escalate(at: time) }
            if sampler.shouldSample(timeMilliseconds: time) { times.append(time) }
        }
        return times
    }

    @Test func quietSourceIsSampledAtTheBaseRate() {
        // 10 s at 2 per second: 20 intervals; the slack may take the last due frame one frame early.
        #expect((20...21).contains(sampledTimes(duration: 10000).count))
        let times = sampledTimes(duration: 10000)
        #expect(zip(times.dropFirst(), times).allSatisfy { $0 - $1 >= 440 && $0 - $1 <= 560 })
    }

    @Test func triggerEscalatesToTheMaximumThenDecays() {
        // Trigger at 1 s (frame 25).
        let times = sampledTimes(duration: 6000, triggers: [25])
        let burst = times.filter { $0 >= 1000 && $0 < 2000 }
        #expect(burst.first == 1000, "the triggering frame is sampled at once")
        #expect(burst.count >= 9, "about 10 per second during the hold: \(burst)")
        let late = times.filter { $0 >= 4000 }
        #expect(late.count <= 5, "back near 2 per second: \(late)")
        var sampler = FrameSampler(policy: .adaptive(base: 2, max: 10))
        sampler.escalate(at: 0)
        #expect(sampler.rate(at: 500) == 10)
        #expect(abs((sampler.rate(at: 1500) ?? 0) - 6) < 1e-9, "halfway back after one decay half-life")
    }

    @Test func escalationDoesNothingForFixedPolicies() {
        var sampler = FrameSampler(policy: .fixed(framesPerSecond: 1))
        sampler.escalate(at: 0)
        let decisions = [0.0, 40, 80].map { sampler.shouldSample(timeMilliseconds: $0) }
        #expect(decisions == [true, false, false])
    }
}
