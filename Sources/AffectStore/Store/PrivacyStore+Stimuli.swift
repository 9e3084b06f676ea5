extension PrivacyStore {
    /// Registers a stimulus variant of a study. Only where the media is gets stored, never the media.
    public func addStimulus(study reference: String, name: String, variant: String, source: String,
                            actor: String) async throws -> Stimulus {
        for (field, value) in [("name", name), ("variant", variant), ("source", source)]
        where value.trimmingCharacters(in: .whitespaces).isEmpty || value.count > 1024 {
            throw StoreError.constraint("a stimulus \(field) must be 1 to 1024 characters")
        }
        let id = Identifier.make(.stimulus)
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let clash = try await transaction.query("SELECT id FROM stimuli WHERE study_id = ? AND name = ? AND variant = ?",
                                                    [.text(study.id), .text(name), .text(variant)])
            guard clash.isEmpty else { throw StoreError.duplicateStimulus("'\(name)' variant \(variant)") }
            try await transaction.execute(
                "INSERT INTO stimuli (id, study_id, name, variant, source, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(id), .text(study.id), .text(name), .text(variant), .text(source), .integer(Clock.nowMilliseconds())])
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
