import AffectCore

extension PrivacyStore {
    /// Gives a user or a token (by id) a study: it may then do in that study what its role allows.
    public func grantAccess(study reference: String, to grantee: String, actor: String) async throws {
        try await database.transaction { transaction in
            try await self.grant(transaction, study: reference, to: grantee, actor: actor)
        }
    }

    func grant(_ transaction: any SQLTransaction, study reference: String, to grantee: String, actor: String) async throws {
        let study = try await loadStudy(transaction, reference: reference)
        let known = try await transaction.query("SELECT id FROM users WHERE id = ? UNION SELECT id FROM api_tokens WHERE id = ?",
                                                [.text(grantee), .text(grantee)])
        guard !known.isEmpty else {
            throw grantee.hasPrefix(Identifier.Kind.token.rawValue + "_") ? StoreError.unknownToken(grantee) : StoreError.unknownUser(grantee)
        }
        let inserted = try await transaction.query(
            "INSERT INTO study_access (study_id, grantee, granted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING grantee",
            [.text(study.id), .text(grantee), .integer(Clock.nowMilliseconds())])
        if !inserted.isEmpty {
            try await audit(transaction, actor: actor, action: "study.share", subject: study.id, details: ["grantee": grantee])
        }
    }

    /// Takes a study back from a user or a token (by id).
    public func revokeAccess(study reference: String, from grantee: String, actor: String) async throws {
        do {
            try Identifier.validate(grantee, as: .user)
        } catch {
            try Identifier.validate(grantee, as: .token)
        }
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let removed = try await transaction.query(
                "DELETE FROM study_access WHERE study_id = ? AND grantee = ? RETURNING grantee", [.text(study.id), .text(grantee)])
            if !removed.isEmpty {
                try await self.audit(transaction, actor: actor, action: "study.unshare", subject: study.id, details: ["grantee": grantee])
            }
        }
    }

    /// The ids of the studies a user or token was given.
    public func studyIDs(grantedTo grantee: String) async throws -> Set<String> {
        try await database.transaction { transaction in
            Set(try await transaction.query("SELECT study_id FROM study_access WHERE grantee = ?", [.text(grantee)])
                .map { try $0.text("study_id") })
        }
    }

    /// Who was given a study: user and token ids.
    public func grantees(study reference: String) async throws -> [String] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await transaction.query("SELECT grantee FROM study_access WHERE study_id = ? ORDER BY granted_at",
                                               [.text(study.id)]).map { try $0.text("grantee") }
        }
    }

    /// Creates a study and gives it to its creator (a researcher's own study), in one transaction.
    public func createStudy(_ definition: StudyDefinition, owner: String?, actor: String) async throws -> Study {
        try await createStudy(definition, actor: actor) { transaction, study in
            if let owner { try await self.grant(transaction, study: study.id, to: owner, actor: actor) }
        }
    }
}
