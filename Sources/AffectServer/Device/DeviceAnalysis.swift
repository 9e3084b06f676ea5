import AffectCore
import AffectPipeline
import AffectStore
import AffectVision
import Foundation
import Synchronization

/// Device analysis: the participant's browser runs the models; this checks what it sends and turns
/// it into the same ``FrameResult``s the engine makes, so consent, minimisation, storage, the live
/// feed and reports treat both alike. Checked here: that the page runs the files this server serves
/// (their hashes), every value's range, stimulus times that only move forward and never run ahead of
/// the session's clock, and the rate. Then, as the engine does for captures: the model's temperature
/// on the raw probabilities, tracking and smoothing, moments.
///
/// What cannot be checked is said in every device session's provenance: the server never sees the
/// pictures, so it cannot judge their quality, nor prove that the page ran what it said.
final class DeviceAnalysis: CaptureAnalysis {
    let location = AnalysisLocation.device
    let transport: CaptureTransport? = nil
    private let kernel: DeviceKernel
    private let output: @Sendable (CaptureSession.Output) -> Void
    /// When the session started (ms since 1970): no stimulus time may be further from it than the clock.
    private let sessionStartMilliseconds: Int64
    private let state: Mutex<State>
    /// The rate limit's clock.
    private let origin = ContinuousClock.now

    private struct State {
        var hello: DeviceMessage.Hello?
        var lastTime = -Double.infinity
        var limit: FrameRateLimit
        var tracking = TrackingStage(halfLifeMilliseconds: 500)
        var frames = 0
        var ended = false
        /// The page's own cost per frame, last reported (ms): shown on the dashboard as latency.
        var costs: [Double] = []
        /// When the page last sent anything, and the task that ends a session gone quiet.
        var lastInput = ContinuousClock.now
        var watchdog: Task<Void, Never>?
    }

    /// - Parameters:
    ///   - resumeFrom: for a resumed session, the stimulus time its stored results reach.
    ///   - output: where results and moments go (the session's outputs).
    init(kernel: DeviceKernel, sessionStartMilliseconds: Int64, resumeFrom: Double?,
         output: @escaping @Sendable (CaptureSession.Output) -> Void) {
        self.kernel = kernel
        self.sessionStartMilliseconds = sessionStartMilliseconds
        self.output = output
        var initial = State(limit: FrameRateLimit(framesPerSecond: DeviceMessage.Limit.framesPerSecond))
        if let resumeFrom { initial.lastTime = resumeFrom.nextDown }
        state = Mutex(initial)
    }

    /// Ends the stream as stalled when the page sends nothing for `idleSeconds` (a page left paused,
    /// or one that connected and went quiet), as the engine ends a capture whose frames stop.
    func watch(idleSeconds: Double) {
        let task = Task { [output] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(min(idleSeconds, 5)))
                let idle = state.withLock { $0.ended ? nil : $0.lastInput.duration(to: .now) }
                guard let idle else { return }
                if idle > .seconds(idleSeconds) {
                    output(.ended(VisionError.streamStalled(source: "device results", seconds: idleSeconds)))
                    return
                }
            }
        }
        state.withLock { $0.watchdog = task }
    }

    func accept(_ input: CaptureInput) throws(CaptureRefusal) {
        state.withLock { $0.lastInput = .now }
        switch input {
        case .frame, .webRTCOffer, .iceCandidate, .clock: throw .wrongAnalysis(.device)
        case .deviceHello(let hello):
            let served = hello.build == "simd" ? kernel.simd : kernel.scalar
            guard ["simd", "scalar"].contains(hello.build), hello.kernelSha256 == served.sha256,
                  hello.detectorSha256 == kernel.detector.sha256, hello.classifierSha256 == kernel.classifier.sha256 else {
                throw .device(.hashes)
            }
            state.withLock { $0.hello = hello }
        case .deviceResults(let results):
            do {
                for (result, moments) in try take(results) {
                    output(.result(result))
                    for moment in moments { output(.moment(moment)) }
                }
            } catch {
                throw .device(error)
            }
        }
    }

    /// Checks a whole message before any of it is used: a message with one bad frame is refused whole.
    private func take(_ results: DeviceMessage.Results) throws(DeviceMessage.Refusal) -> [(FrameResult, [Moment])] {
        guard !results.frames.isEmpty, results.frames.count <= DeviceMessage.Limit.framesPerMessage else {
            throw .invalid("a results message holds 1 to \(DeviceMessage.Limit.framesPerMessage) frames")
        }
        for frame in results.frames { try DeviceMessage.check(frame) }
        let now = (Date().timeIntervalSince1970 * 1000).rounded()
        let sessionClock = now - Double(sessionStartMilliseconds) + DeviceMessage.Limit.futureSlackMilliseconds
        let arrival = origin.duration(to: .now).milliseconds
        let calibration = kernel.calibration
        return try state.withLock { state throws(DeviceMessage.Refusal) in
            guard state.hello != nil else { throw .noHello }
            guard !state.ended else { return [] }
            var last = state.lastTime
            for frame in results.frames {
                guard frame.tMs > last else { throw .time("stimulus times must increase (\(frame.tMs) after \(last))") }
                guard frame.tMs <= sessionClock else { throw .time("a stimulus time is ahead of the session's clock") }
                last = frame.tMs
            }
            for _ in results.frames {
                guard state.limit.admit(atMilliseconds: arrival) else { throw .tooFast(DeviceMessage.Limit.framesPerSecond) }
            }
            state.lastTime = last
            var out: [(FrameResult, [Moment])] = []
            for frame in results.frames {
                let (width, height) = (Double(frame.width), Double(frame.height))
                let faces = frame.faces.compactMap { face -> FaceResult? in
                    guard let raw = EmotionDistribution(scores: face.probabilities) else { return nil }
                    let box = Box(x: face.box.x * width, y: face.box.y * height, width: face.box.width * width,
                                  height: face.box.height * height)
                    return FaceResult(box: box, score: face.score, landmarks: [],
                                      emotions: calibration.map { $0.apply(raw) } ?? raw)
                }
                let result = FrameResult(frame: state.frames, timeMilliseconds: frame.tMs, faces: faces)
                state.frames += 1
                if let cost = frame.costMs {
                    state.costs.append(cost)
                    if state.costs.count > 100 { state.costs.removeFirst(state.costs.count - 100) }
                }
                out.append(state.tracking.process(result))
            }
            return out
        }
    }

    /// Device sessions analyse at the rate the server sets for them; the page may go slower.
    var requestedRate: Double? { nil }
    var failure: (any Error)? { nil }

    var health: CaptureHealth {
        let costs = state.withLock { $0.costs }.sorted()
        guard !costs.isEmpty else { return CaptureHealth() }
        return CaptureHealth(latencyP50Milliseconds: costs[costs.count / 2],
                             latencyP95Milliseconds: costs[min(costs.count - 1, costs.count * 95 / 100)])
    }

    func end() {
        let moments: [Moment] = state.withLock { state in
            guard !state.ended else { return [] }
            state.ended = true
            state.watchdog?.cancel()
            return state.tracking.finish()
        }
        for moment in moments { output(.moment(moment)) }
    }

    func waitUntilFinished() async -> Int { 0 }
}
