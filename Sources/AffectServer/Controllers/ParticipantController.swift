import AffectCore
import AffectStore
import Hummingbird

/// `/p/:secret/...`: what a participant's link opens. The link is the only credential: single use,
/// expiring, scoped to one study (and stimulus). No API token is involved.
struct ParticipantController {
    let store: PrivacyStore

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
    }

    struct ConsentRequest: Decodable {
        /// Must be true: consent is an explicit act.
        var agreed: Bool
        var excludedEmotions: [Emotion]?
        var segment: [String: String]?
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
                            stimulusId: invitation.stimulusID)
        }
        group.post(":secret/consent") { request, context -> EditedResponse<ConsentGiven> in
            let secret = try context.parameters.require("secret")
            let body = try await request.decodeJSON(as: ConsentRequest.self, context: context)
            guard body.agreed else { throw HTTPError(.badRequest, message: "consent needs \"agreed\": true") }
            let segment = body.segment.flatMap { $0.isEmpty ? nil : $0 }
            let (participant, consent, _) = try await store.consent(
                throughInvitation: secret,
                purposes: [Consent.analysisPurpose] + (segment == nil ? [] : [Consent.segmentPurpose]),
                excludedEmotions: try InputRules.expressions(body.excludedEmotions ?? [], field: "excluded_emotions"), segment: segment)
            return EditedResponse(status: .created, response: ConsentGiven(participantId: participant.id, consentId: consent.id))
        }
    }
}
