import AffectPipeline
import ArgumentParser

/// Sampling policies as the CLI spells them (`--policy`), shared by analyze and bench.
enum PolicyName: String, ExpressibleByArgument, CaseIterable {
    case fixed, adaptive, everyFrame = "every-frame"

    /// The policy at `fps` (the base rate for adaptive), rising to `maxFps` for adaptive.
    func policy(fps: Double, maxFps: Double) -> SamplingPolicy {
        switch self {
        case .fixed: .fixed(framesPerSecond: fps)
        case .adaptive: .adaptive(base: fps, max: max(maxFps, fps))
        case .everyFrame: .everyFrame
        }
    }
}
