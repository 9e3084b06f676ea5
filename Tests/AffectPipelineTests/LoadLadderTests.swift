import AffectPipeline
import Testing

@Suite struct LoadLadderTests {
    func configuration() -> LoadLadder.Configuration {
        var configuration = LoadLadder.Configuration()
        configuration.cooldownMilliseconds = 1000
        configuration.recoveryMilliseconds = 3000
        return configuration
    }

    @Test func highLatencyStepsUpOncePerCooldown() {
        var ladder = LoadLadder(configuration: configuration())
        var changes: [LoadLadder.Change] = []
        for time in stride(from: 0.0, to: 2500, by: 50) {
            if let change = ladder.observe(latencyMilliseconds: 400, at: time) { changes.append(change) }
        }
        #expect(changes.map(\.to) == [.reducedRate, .trackBetweenDetections, .cheaperDetector])
        #expect(changes.map(\.timeMilliseconds) == [0, 1000, 2000])
        #expect(changes.allSatisfy { $0.reason.contains("latency") })
    }

    @Test func stopsAtTheHighestStep() {
        var ladder = LoadLadder(configuration: configuration())
        for time in stride(from: 0.0, to: 10000, by: 50) { _ = ladder.observe(latencyMilliseconds: 900, at: time) }
        #expect(ladder.step == .cheaperDetector)
    }

    @Test func shedsAStreamOnlyAfterEveryStepAndTheShedDelay() {
        var ladder = LoadLadder(configuration: configuration())
        var firstShed: Double?
        for time in stride(from: 0.0, to: 9000, by: 50) {
            _ = ladder.observe(latencyMilliseconds: 900, at: time)
            if firstShed == nil, ladder.shouldShedStream(at: time) { firstShed = time }
        }
        // The top step is reached at 2 s and first judged overloaded at 2.05 s; shedding waits 5 s from then.
        #expect(firstShed == 7050)
        ladder.streamShed(at: 9000)
        #expect(!ladder.shouldShedStream(at: 9000), "the next shed waits a full delay again")
        _ = ladder.observe(latencyMilliseconds: 900, at: 9050)
        #expect(!ladder.shouldShedStream(at: 13_000))
        #expect(ladder.shouldShedStream(at: 14_050))

        var calm = LoadLadder(configuration: configuration())
        for time in stride(from: 0.0, to: 3000, by: 50) { _ = calm.observe(latencyMilliseconds: 900, at: time) }
        for time in stride(from: 3000.0, to: 12_000, by: 50) { _ = calm.observe(latencyMilliseconds: 20, at: time) }
        #expect(!calm.shouldShedStream(at: 12_000), "load that falls at the top step sheds nothing")
    }

    @Test func dropsAloneStepUp() {
        var ladder = LoadLadder(configuration: configuration())
        // A quarter of 12 frames in the window dropped: overload, though every analysed one was quick.
        var change: LoadLadder.Change?
        for index in 0..<12 {
            let time = Double(index) * 20
            change = index % 4 == 3 ? ladder.observeDrop(at: time) : ladder.observe(latencyMilliseconds: 10, at: time)
            if change != nil { break }
        }
        #expect(change?.to == .reducedRate)
        #expect(change?.reason.contains("dropped") == true)
    }

    /// A stream's first frames, one of two replaced in a burst, are not half the frames dropped.
    @Test func aFewDropsAmongTheFirstFramesAreNotOverload() {
        var ladder = LoadLadder(configuration: configuration())
        _ = ladder.observe(latencyMilliseconds: 10, at: 0)
        #expect(ladder.observeDrop(at: 10) == nil)
        #expect(ladder.observeDrop(at: 20) == nil)
        #expect(ladder.step == .normal)
    }

    @Test func recoversStepByStepWhenLoadFalls() {
        var ladder = LoadLadder(configuration: configuration())
        for time in stride(from: 0.0, to: 1100, by: 50) { _ = ladder.observe(latencyMilliseconds: 400, at: time) }
        #expect(ladder.step == .trackBetweenDetections)
        var downs: [LoadLadder.Change] = []
        for time in stride(from: 1100.0, to: 9000, by: 50) {
            if let change = ladder.observe(latencyMilliseconds: 20, at: time) { downs.append(change) }
        }
        #expect(downs.map(\.to) == [.reducedRate, .normal])
        #expect(ladder.step == .normal)
    }

    @Test func moderateLoadHoldsTheStep() {
        var ladder = LoadLadder(configuration: configuration())
        _ = ladder.observe(latencyMilliseconds: 400, at: 0)
        for time in stride(from: 50.0, to: 10000, by: 50) {
            #expect(ladder.observe(latencyMilliseconds: 100, at: time) == nil)
        }
        #expect(ladder.step == .reducedRate, "between the low and high marks nothing changes")
    }
}
