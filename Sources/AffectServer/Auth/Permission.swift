import AffectStore

/// What a caller may do; each route asks for one (or any of a few). Which roles have which
/// permission is decided here and nowhere else, for the console and the API alike.
public enum Permission: String, Sendable, CaseIterable {
    /// Users, tokens, the audit log and the nodes.
    case administer
    /// Creating studies.
    case createStudies
    /// In a study: stimuli, participant links, privacy releases, subject rights, queuing moments.
    case runStudy
    /// In a study: its definition, sessions, results, reports and live sessions.
    case readResults
    /// In a study: the audience moments review queue, and playing its stimuli there.
    case reviewMoments

    /// Whether `role` has this permission (in the studies it reaches, for study permissions).
    public func isGranted(to role: Role) -> Bool {
        switch role {
        case .admin: true
        case .researcher: self != .administer
        case .analyst: self == .readResults
        case .reviewer: self == .reviewMoments
        }
    }
}
