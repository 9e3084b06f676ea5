import AffectCore
import Foundation
import Testing

/// Reference values computed with SciPy 1.17 (`scipy.stats.t`, `ttest_ind(equal_var=False)`,
/// `false_discovery_control`); coverage and size checked by simulation with a fixed seed.
@Suite struct StatisticsTests {
    @Test func studentTMatchesReferenceValues() {
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 9) - 2.262157162798205) < 1e-9)
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 1) - 12.706204736174694) < 1e-7)
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 30) - 2.0422724563012378) < 1e-9)
        #expect(abs(StudentT.quantile(0.995, degreesOfFreedom: 3.5) - 5.085702223091256) < 1e-8)
        #expect(abs(StudentT.cdf(2.0, degreesOfFreedom: 5) - 0.9490302605850708) < 1e-12)
        #expect(abs(StudentT.cdf(-1.5, degreesOfFreedom: 2.7) - 0.12012859519419851) < 1e-12)
        #expect(StudentT.quantile(0.5, degreesOfFreedom: 4) == 0)
    }

    @Test func welchTestMatchesReference() throws {
        let test = try #require(WelchTest([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]))
        #expect(abs(test.t - -1.8973665961010275) < 1e-12)
        #expect(abs(test.degreesOfFreedom - 5.882352941176471) < 1e-12)
        #expect(abs(test.p - 0.10753119493062728) < 1e-10)
        #expect(test.differenceLow < test.difference && test.difference < test.differenceHigh && test.differenceHigh > 0,
                "the interval contains 0 when p > 0.05")
        #expect(WelchTest([1], [2, 3]) == nil, "a sample of one has no spread")
        #expect(WelchTest([1, 1], [1, 1]) == nil, "nor do constant samples")
    }

    @Test func benjaminiHochbergMatchesReference() {
        let q = MultipleComparisons.benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.2])
        for (value, expected) in zip(q, [0.025, 0.05, 0.05, 0.025, 0.2]) { #expect(abs(value - expected) < 1e-12) }
    }

    @Test func intervalsCoverTheTrueMeanNinetyFivePercentOfTheTime() {
        var random = SeededNormal(seed: 42)
        let trials = 4000
        var covered = 0
        for _ in 0..<trials {
            let sample = (0..<8).map { _ in 0.3 + 0.1 * random.next() }
            if let interval = SampleSummary(sample)?.meanInterval(), interval.contains(0.3) { covered += 1 }
        }
        let coverage = Double(covered) / Double(trials)
        // Binomial standard error at 4000 trials is 0.0034: ±0.012 is about 3.5 of them.
        #expect(abs(coverage - 0.95) < 0.012, "coverage \(coverage)")
    }

    @Test func welchTestHoldsItsSizeUnderTheNullWithUnequalVariances() {
        var random = SeededNormal(seed: 7)
        let trials = 4000
        var rejected = 0
        for _ in 0..<trials {
            let a = (0..<6).map { _ in 0.5 + 0.05 * random.next() }
            let b = (0..<14).map { _ in 0.5 + 0.2 * random.next() }
            if let test = WelchTest(a, b), test.p < 0.05 { rejected += 1 }
        }
        let size = Double(rejected) / Double(trials)
        #expect(abs(size - 0.05) < 0.012, "size \(size)")
    }
}

/// Standard normal draws from SplitMix64 and Box–Muller: the same numbers on every machine.
struct SeededNormal {
    private var state: UInt64
    private var spare: Double?

    init(seed: UInt64) { state = seed }

    private mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / 9_007_199_254_740_992
    }

    mutating func next() -> Double {
        if let spare {
            self.spare = nil
            return spare
        }
        let radius = (-2 * log(uniform())).squareRoot(), angle = 2 * Double.pi * uniform()
        spare = radius * sin(angle)
        return radius * cos(angle)
    }
}
