import AffectCore

extension PrivacyStore {
    /// Registers a stimulus variant of a study. Only where the media is gets stored, never the media:
    /// a web address, or the name of a file the server keeps (``StimulusSource``), never a server path.
    /// - Parameter sha256: an uploaded file's digest, checked by every server before it sends the file.
    public func addStimulus(study reference: String, name: String, variant: String, source: StimulusSource,
                            sha256: String? = nil, actor: String) async throws -> Stimulus {
        do {
            try InputRules.label(name, field: "a stimulus name")
            try InputRules.label(variant, field: "a variant", maximum: InputRules.maximumTagLength)
        } catch {
            throw StoreError.invalidInput(error.description)
        }
        if case .retiredPath = source { throw StoreError.invalidInput(StimulusSource.Refusal.notWebAddress.description) }
        let id = Identifier.make(.stimulus)
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let clash = try await transaction.query("SELECT id FROM stimuli WHERE study_id = ? AND name = ? AND variant = ?",
                                                    [.text(study.id), .text(name), .text(variant)])
            guard clash.isEmpty else { throw StoreError.duplicateStimulus(name: name, variant: variant) }
            try await transaction.execute(
                "INSERT INTO stimuli (id, study_id, name, variant, source, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(id), .text(study.id), .text(name), .text(variant), .text(source.storedText), SQLValue(sha256),
                 .integer(Clock.nowMilliseconds())])
            try await self.audit(transaction, actor: actor, action: "stimulus.add", subject: id,
                                 details: ["study": study.id, "name": name, "variant": variant])
            guard let row = try await transaction.query("SELECT * FROM stimuli WHERE id = ?", [.text(id)]).first else {
                throw StoreError.unknownStimulus(id)
            }
            return try Stimulus(row: row)
        }
    }

    /// A study's stimuli, by name then variant.
    public func stimuli(study reference: String) async throws -> [Stimulus] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await transaction.query("SELECT * FROM stimuli WHERE study_id = ? ORDER BY name, variant", [.text(study.id)])
                .map(Stimulus.init(row:))
        }
    }
}

extension PrivacyStore {
    /// How many stimuli name a server path stored before paths were refused (migration 13): nothing is
    /// served for them until their media is uploaded again.
    public func retiredStimulusCount() async throws -> Int {
        try await database.transaction { transaction in
            try await transaction.query("SELECT COUNT(*) AS n FROM stimuli WHERE source = ?",
                                        [.text(StimulusSource.retiredPath.storedText)]).first?["n"].int ?? 0
        }
    }
}
