import AffectCore

extension PrivacyStore {
    /// Creates a study after the purpose guard and validation; the audit event records the
    /// context, any Art. 5(1)(f) exemption and that a transparency notice is shown.
    public func createStudy(_ definition: StudyDefinition, actor: String) async throws -> Study {
        try await createStudy(definition, actor: actor) { _, _ in }
    }

    /// Creates a study, then runs `then` in the same transaction (giving it to its owner).
    func createStudy(_ definition: StudyDefinition, actor: String,
                     then: @escaping @Sendable (any SQLTransaction, Study) async throws -> Void) async throws -> Study {
        do {
            try definition.validate()
        } catch {
            throw StoreError.invalidStudy(error.description)
        }
        let id = Identifier.make(.study)
        return try await database.transaction { transaction in
            // One statement decides: of concurrent creates of one name, one inserts and the rest find the
            // name taken (on PostgreSQL a separate check would pass for all of them).
            let inserted = try await transaction.query(
                """
                INSERT INTO studies (id, name, purpose, context, exemption, legal_basis, mode, retention_days, k_anonymity,
                    excluded_emotions, window_ms, notice_version, created_at, on_withdrawal, participant_readout, privacy_budget,
                    measures, analysis, device_fallback, device_fps, transport, capture_fps, every_frame)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO NOTHING RETURNING id
                """,
                [.text(id), .text(definition.name), .text(definition.purpose), .text(definition.context.rawValue),
                 SQLValue(definition.exemption?.rawValue), .text(definition.legalBasis), .text(definition.mode.rawValue),
                 SQLValue(definition.retentionDays), SQLValue(definition.kAnonymity),
                 .text(EmotionList.encode(definition.excludedEmotions)), .real(definition.windowMilliseconds),
                 .text(definition.noticeVersion), .integer(Clock.nowMilliseconds()), .text(definition.onWithdrawal.rawValue),
                 .integer(definition.participantReadout ? 1 : 0), SQLValue(definition.privacyBudget),
                 .integer(definition.measures ? 1 : 0), .text(definition.analysis.rawValue),
                 .integer(definition.deviceFallback ? 1 : 0), SQLValue(definition.deviceFramesPerSecond),
                 .text(definition.transport.rawValue), SQLValue(definition.captureFramesPerSecond),
                 .integer(definition.everyFrame ? 1 : 0)])
            guard !inserted.isEmpty else { throw StoreError.duplicateStudyName(definition.name) }
            var details = [
                "name": definition.name, "context": definition.context.rawValue, "mode": definition.mode.rawValue,
                "retention_days": String(definition.retentionDays), "k": String(definition.kAnonymity),
                "on_withdrawal": definition.onWithdrawal.rawValue,
                "participant_readout": String(definition.participantReadout),
                "measures": String(definition.measures),
                "analysis": definition.analysis.rawValue,
                "device_fallback": String(definition.deviceFallback),
                "device_fps": definition.deviceFramesPerSecond.map { String($0) } ?? "server default",
                "transport": definition.transport.rawValue,
                "capture_fps": definition.captureFramesPerSecond.map { String($0) } ?? "server default",
                "every_frame": String(definition.everyFrame),
                "privacy_budget": definition.privacyBudget.map { String($0) } ?? "none",
                "transparency_notice": "version \(definition.noticeVersion) shown before consent (EU AI Act Art. 50)",
            ]
            if let exemption = definition.exemption {
                details["art5_exemption"] = "\(exemption.rawValue) (EU AI Act Art. 5(1)(f))"
            }
            try await self.audit(transaction, actor: actor, action: "study.create", subject: id, details: details)
            let study = try await self.loadStudy(transaction, reference: id)
            try await then(transaction, study)
            return study
        }
    }

    /// Every study, oldest first.
    public func studies() async throws -> [Study] {
        try await database.transaction { transaction in
            try await transaction.query("SELECT * FROM studies ORDER BY created_at, id").map(Study.init(row:))
        }
    }

    /// A study by id or by name.
    public func study(_ reference: String) async throws -> Study {
        try await database.transaction { transaction in try await self.loadStudy(transaction, reference: reference) }
    }

    /// A reference shaped like an id is looked up as an id only, anything else as a name only: names
    /// cannot look like ids (``InputRules/studyName(_:)``), so one reference never matches two studies.
    func loadStudy(_ transaction: any SQLTransaction, reference: String) async throws -> Study {
        let column = InputRules.looksLikeIdentifier(reference) ? "id" : "name"
        let rows = try await transaction.query("SELECT * FROM studies WHERE \(column) = ?", [.text(reference)])
        guard let row = rows.first else { throw StoreError.unknownStudy(reference) }
        return try Study(row: row)
    }
}
