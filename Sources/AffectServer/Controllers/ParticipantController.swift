import AffectCore
import AffectStore
import Hummingbird

/// `/p/:secret/...`: what a participant's link opens. The link is the only credential: single use,
/// expiring, scoped to one study (and stimulus). No API token is involved.
struct ParticipantController {
    let store: PrivacyStore
    /// What pages of device-analysis studies fetch (they try it before consent); nil when not offered.
    let deviceKernel: DeviceKernel?

    /// What the page shows before consent.
    struct Briefing: ResponseEncodable {
        var study: String
        var purpose: String
        var notice: String
        var noticeVersion: String
        /// Expressions the participant may exclude (those the study measures).
        var expressions: [Emotion]
        /// The stimulus this link is for, if any.
        var stimulusId: String?
        /// Where pictures are analysed; for device analysis, what the page fetches, and whether a
        /// browser that cannot may take part with server analysis (``ConsentRequest/serverAnalysis``).
        var analysis: AnalysisLocation
        var kernel: DeviceKernel.Manifest?
        var deviceFallback: Bool
        /// For server analysis: how the camera reaches the server (a page that cannot send WebRTC uses JPEG).
        var transport: CaptureTransport
    }

    struct ConsentRequest: Decodable {
        /// Must be true: consent is an explicit act.
        var agreed: Bool
        var excludedEmotions: [Emotion]?
        var segment: [String: String]?
        /// In a device-analysis study that offers it: the participant agrees that their camera frames go
        /// to the server instead (their browser cannot analyse them). A consent purpose of its own.
        var serverAnalysis: Bool?
    }

    struct ConsentGiven: ResponseEncodable {
        var participantId: String
        var consentId: String
    }

    func addRoutes(to group: Routes) {
        group.get(":secret/briefing") { _, context -> Briefing in
            let (invitation, study) = try await store.openInvitation(secret: try context.parameters.require("secret"))
            let definition = study.definition
            return Briefing(study: definition.name, purpose: definition.purpose,
                            notice: TransparencyNotice.text(for: definition), noticeVersion: definition.noticeVersion,
                            expressions: Emotion.allCases.filter { !definition.excludedEmotions.contains($0) },
                            stimulusId: invitation.stimulusID, analysis: definition.analysis,
                            kernel: definition.analysis == .device ? deviceKernel?.manifest : nil,
                            deviceFallback: definition.deviceFallback, transport: definition.transport)
        }
        group.post(":secret/consent") { request, context -> EditedResponse<ConsentGiven> in
            let secret = try context.parameters.require("secret")
            let body = try await request.decodeJSON(as: ConsentRequest.self, context: context)
            guard body.agreed else { throw HTTPError(.badRequest, message: "consent needs \"agreed\": true") }
            let segment = body.segment.flatMap { $0.isEmpty ? nil : $0 }
            var purposes = [Consent.analysisPurpose] + (segment == nil ? [] : [Consent.segmentPurpose])
            if body.serverAnalysis == true {
                let (_, study) = try await store.openInvitation(secret: secret)
                guard study.definition.analysis == .device && study.definition.deviceFallback else {
                    throw HTTPError(.badRequest, message: "this study does not offer server analysis instead of analysis in the browser")
                }
                purposes.append(Consent.serverAnalysisPurpose)
            }
            let (participant, consent, _) = try await store.consent(
                throughInvitation: secret,
                purposes: purposes,
                excludedEmotions: try InputRules.expressions(body.excludedEmotions ?? [], field: "excluded_emotions"), segment: segment)
            return EditedResponse(status: .created, response: ConsentGiven(participantId: participant.id, consentId: consent.id))
        }
    }
}
