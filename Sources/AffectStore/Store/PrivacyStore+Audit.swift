extension PrivacyStore {
    /// Every audit event in sequence order.
    public func auditEvents() async throws -> [AuditEvent] {
        try await database.transaction { transaction in
            try await transaction.query("SELECT * FROM audit_events ORDER BY seq").map(AuditEvent.init(row:))
        }
    }

    /// Checks the audit chain from the first event.
    public func verifyAudit() async throws -> AuditChain.Verification {
        AuditChain.verify(try await auditEvents())
    }

    /// Sessions of a study or a participant, for listing.
    public func sessions(study reference: String) async throws -> [Session] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await transaction.query("SELECT * FROM sessions WHERE study_id = ? ORDER BY started_at", [.text(study.id)])
                .map(Session.init(row:))
        }
    }
}
