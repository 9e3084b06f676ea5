/// Where a study's participants are when their faces are analysed.
///
/// The context decides whether emotion recognition is lawful at all: the EU AI Act
/// (Art. 5(1)(f)) prohibits inferring emotions of people at work and in education,
/// except for medical or safety reasons. See ``PurposeGuard``.
public enum StudyContext: String, Sendable, Hashable, Codable, CaseIterable {
    case mediaResearch = "media-research"
    case marketResearch = "market-research"
    case healthcare
    case publicSpace = "public-space"
    case retail
    case workplace
    case education
    case other

    /// Contexts in which Art. 5(1)(f) prohibits emotion recognition unless a medical or safety reason applies.
    public var isProhibitedByArticle5: Bool {
        self == .workplace || self == .education
    }
}

/// The two reasons for which Art. 5(1)(f) allows emotion recognition at work or in education.
public enum ArticleFiveExemption: String, Sendable, Hashable, Codable, CaseIterable {
    case medical
    case safety
}
