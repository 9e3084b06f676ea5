import Foundation

/// What a study is for and how its data may be processed, as the researcher declares it.
///
/// Every field here is a promise made to participants in the transparency notice;
/// the store enforces the ones that can be enforced (mode, retention, opt-outs, k).
public struct StudyDefinition: Sendable, Hashable, Codable {
    public var name: String
    /// The purpose in the researcher's words, shown to participants.
    public var purpose: String
    public var context: StudyContext
    /// Set only for workplace or education studies, and then required (``PurposeGuard``).
    public var exemption: ArticleFiveExemption?
    /// The GDPR legal basis; emotion scores of identifiable people need explicit consent.
    public var legalBasis: String
    public var mode: ProcessingMode
    /// Days after a session ends until its derived data is purged.
    public var retentionDays: Int
    /// Minimum number of participants in any released aggregate cell.
    public var kAnonymity: Int
    /// Expressions excluded for every participant of the study.
    public var excludedEmotions: Set<Emotion>
    /// Aggregate window, for ``ProcessingMode/aggregate``.
    public var windowMilliseconds: Double
    /// The version of the transparency notice (EU AI Act Art. 50) participants are shown.
    public var noticeVersion: String
    /// What a withdrawal does with the participant's results.
    public var onWithdrawal: WithdrawalPolicy
    /// Whether participants see their own results live while they take part (only what the mode keeps).
    public var participantReadout: Bool
    /// The study's total differential-privacy budget (ε) for segment releases; nil for none. Every
    /// noised release spends part of it, and releases stop when it is spent.
    public var privacyBudget: Double?
    /// Whether faces are measured besides their expressions: head pose, gaze, eyes, mouth, blinks and
    /// attention (the landmark stage). Off unless the study asks; the notice says so when on.
    public var measures: Bool
    /// Where participants' pictures are analysed: on the server, or in their own browser, which then
    /// sends only results. The notice says which.
    public var analysis: AnalysisLocation
    /// For device analysis: whether a participant whose browser cannot analyse on the device is
    /// offered server analysis instead, which takes their explicit, separate consent to send frames.
    public var deviceFallback: Bool
    /// For device analysis: frames per second each page analyses (1 to 30; a page that cannot keep up
    /// goes slower). Nil: the server's default (`affect serve --device-fps`).
    public var deviceFramesPerSecond: Double?
    /// For server analysis: how the camera reaches the server (JPEG snapshots, or a WebRTC video track).
    public var transport: CaptureTransport
    /// For WebRTC: frames per second the page's camera track sends (1 to 30). Nil: the server's default
    /// (`affect serve --webrtc-fps`).
    public var captureFramesPerSecond: Double?
    /// For WebRTC: analyse every frame the track carries (a "30 fps timeline") instead of sampling;
    /// the load ladder still protects latency when the server is busy.
    public var everyFrame: Bool

    public init(name: String, purpose: String, context: StudyContext, exemption: ArticleFiveExemption? = nil,
                legalBasis: String = "explicit-consent", mode: ProcessingMode = .individual, retentionDays: Int = 30,
                kAnonymity: Int = 5, excludedEmotions: Set<Emotion> = [],
                windowMilliseconds: Double = ProcessingMode.defaultWindowMilliseconds, noticeVersion: String = "1",
                onWithdrawal: WithdrawalPolicy = .delete, participantReadout: Bool = false, privacyBudget: Double? = nil,
                measures: Bool = false, analysis: AnalysisLocation = .server, deviceFallback: Bool = false,
                deviceFramesPerSecond: Double? = nil, transport: CaptureTransport = .jpeg,
                captureFramesPerSecond: Double? = nil, everyFrame: Bool = false) {
        self.deviceFramesPerSecond = deviceFramesPerSecond
        self.transport = transport
        self.captureFramesPerSecond = captureFramesPerSecond
        self.everyFrame = everyFrame
        self.measures = measures
        self.analysis = analysis
        self.deviceFallback = deviceFallback
        self.name = name
        self.purpose = purpose
        self.context = context
        self.exemption = exemption
        self.legalBasis = legalBasis
        self.mode = mode
        self.retentionDays = retentionDays
        self.kAnonymity = kAnonymity
        self.excludedEmotions = excludedEmotions
        self.windowMilliseconds = windowMilliseconds
        self.noticeVersion = noticeVersion
        self.onWithdrawal = onWithdrawal
        self.participantReadout = participantReadout
        self.privacyBudget = privacyBudget
    }

    /// Why a definition is not acceptable.
    public enum Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        case retention(Int), window(Double), allEmotionsExcluded, measuresNeedServerAnalysis, fallbackNeedsDeviceAnalysis
        case deviceRate(Double)
        case webRTCNeedsServerAnalysis, captureRate(Double), everyFrameNeedsWebRTC
        case input(InputRules.Violation)
        case prohibited(PurposeGuard.Refusal)

        public var description: String {
            switch self {
            case .retention: "retention must be 0 to 3650 days"
            case .window: "the aggregate window must be 1 s to 1 h"
            case .allEmotionsExcluded: "excluding every expression leaves nothing to measure"
            case .fallbackNeedsDeviceAnalysis: "a fallback to server analysis is for studies analysed on the device"
            case .deviceRate: "the rate of analysis in the browser must be 1 to 30 frames a second, for studies analysed on the device"
            case .webRTCNeedsServerAnalysis:
                "WebRTC carries the camera to the server: it is for studies analysed on the server (device analysis sends no pictures)"
            case .captureRate: "the capture rate must be 1 to 30 frames a second, for studies captured over WebRTC"
            case .everyFrameNeedsWebRTC: "analysing every frame needs the WebRTC transport"
            case .measuresNeedServerAnalysis:
                "head pose, gaze, eyes and blinks are measured on the server only: choose server analysis, or turn measures off"
            case .input(let violation): violation.description
            case .prohibited(let refusal): refusal.description
            }
        }
    }

    /// Checks the definition, the purpose guard first.
    public func validate() throws(Invalid) {
        do {
            try PurposeGuard.check(context: context, exemption: exemption)
        } catch {
            throw .prohibited(error)
        }
        do {
            try InputRules.studyName(name)
            try InputRules.prose(purpose, field: "a study's purpose")
            try InputRules.k(kAnonymity)
            try InputRules.label(noticeVersion, field: "a notice version", maximum: InputRules.maximumTagLength)
            if let privacyBudget { try InputRules.epsilon(privacyBudget, field: "the privacy budget ε") }
        } catch {
            throw .input(error)
        }
        if !(0...3650).contains(retentionDays) { throw .retention(retentionDays) }
        if !(windowMilliseconds.isFinite && (1000...3_600_000).contains(windowMilliseconds)) { throw .window(windowMilliseconds) }
        if excludedEmotions.count == Emotion.allCases.count { throw .allEmotionsExcluded }
        if measures && analysis == .device { throw .measuresNeedServerAnalysis }
        if deviceFallback && analysis != .device { throw .fallbackNeedsDeviceAnalysis }
        if let deviceFramesPerSecond,
           !(analysis == .device && deviceFramesPerSecond.isFinite && (1...30).contains(deviceFramesPerSecond)) {
            throw .deviceRate(deviceFramesPerSecond)
        }
        if transport == .webrtc && analysis != .server { throw .webRTCNeedsServerAnalysis }
        if let captureFramesPerSecond,
           !(transport == .webrtc && captureFramesPerSecond.isFinite && (1...30).contains(captureFramesPerSecond)) {
            throw .captureRate(captureFramesPerSecond)
        }
        if everyFrame && transport != .webrtc { throw .everyFrameNeedsWebRTC }
    }
}

/// What happens to a participant's results when they withdraw consent.
public enum WithdrawalPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every result is deleted.
    case delete
    /// Results are folded into the study's anonymous window sums (no participant or session link,
    /// released only for windows with at least k contributors), then deleted.
    case keepAggregates = "keep-aggregates"
}
