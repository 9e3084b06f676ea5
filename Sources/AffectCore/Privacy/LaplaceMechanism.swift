#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Laplace mechanism of differential privacy (Dwork et al. 2006): a released number plus noise
/// of scale sensitivity / ε gives ε-differential privacy for that number.
///
/// Affect releases means of values bounded to a known range over n participants. Neighbouring
/// datasets differ in one participant's values (bounded DP; n is public and k-suppressed), so the
/// sensitivity of such a mean is (range width) / n.
public struct LaplaceMechanism: Sendable {
    public let epsilon: Double

    public init(epsilon: Double) {
        precondition(epsilon > 0, "ε must be positive")
        self.epsilon = epsilon
    }

    /// The noise scale for a mean of `count` values each within `range`.
    public func scale(meanOf count: Int, within range: ClosedRange<Double>) -> Double {
        (range.upperBound - range.lowerBound) / Double(max(1, count)) / epsilon
    }

    /// `value` plus Laplace noise of `scale`, drawn from `generator` (the system's secure generator
    /// in releases; a seeded one in tests).
    public func noised<G: RandomNumberGenerator>(_ value: Double, scale: Double, using generator: inout G) -> Double {
        // Inverse CDF of Laplace(0, b) at u in (-1/2, 1/2); u = ±1/2 exactly is excluded.
        var u = 0.0
        repeat { u = Double.random(in: -0.5..<0.5, using: &generator) } while u == -0.5
        let sign: Double = u < 0 ? -1 : 1
        return value - scale * sign * log(1 - 2 * abs(u))
    }
}
