/// Refuses studies that EU law prohibits.
///
/// Art. 5(1)(f) of the EU AI Act (Regulation (EU) 2024/1689) prohibits AI systems that
/// infer the emotions of a natural person in the areas of workplace and education
/// institutions, except where the system is intended for medical or safety reasons.
/// A study in those contexts is accepted only with an explicit exemption, which is
/// recorded with the study and in the audit log.
public enum PurposeGuard {
    /// Why a study definition was refused.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case prohibitedContext(StudyContext)
        case exemptionNotNeeded(StudyContext)

        public var description: String {
            switch self {
            case .prohibitedContext(let context):
                "emotion recognition in the \(context.rawValue) context is prohibited by EU AI Act Art. 5(1)(f) "
                    + "unless it is for medical or safety reasons (state one with --exemption medical|safety)"
            case .exemptionNotNeeded(let context):
                "an Art. 5(1)(f) exemption applies only to workplace and education studies, not \(context.rawValue)"
            }
        }
    }

    /// Checks a context and its claimed exemption.
    public static func check(context: StudyContext, exemption: ArticleFiveExemption?) throws(Refusal) {
        if context.isProhibitedByArticle5 {
            guard exemption != nil else { throw .prohibitedContext(context) }
        } else if exemption != nil {
            // Claiming an exemption that does not apply would put a misleading legal basis on record.
            throw .exemptionNotNeeded(context)
        }
    }
}
