extension PrivacyStore {
    /// What a purge removed.
    public struct Purge: Sendable, Codable, Hashable {
        public var sessionsDeleted: Int
        public var rowsDeleted: Int
        /// Milliseconds since 1970 the purge measured expiry against.
        public var asOf: Int64
    }

    /// Deletes every ended session whose study's retention period has passed by `asOf`
    /// (default now), with its results, then compacts the database so the rows are gone
    /// from the file too. Audited, also when nothing expired.
    public func purge(asOf: Int64? = nil, actor: String) async throws -> Purge {
        let now = asOf ?? Clock.nowMilliseconds()
        let purge = try await database.transaction { transaction in
            let expired = try await transaction.query(
                """
                SELECT sessions.id AS id FROM sessions JOIN studies ON studies.id = sessions.study_id
                WHERE sessions.ended_at IS NOT NULL AND sessions.ended_at + studies.retention_days * 86400000 <= ?
                """, [.integer(now)])
            var rows = 0
            for session in expired.compactMap({ $0["id"].string }) {
                rows += try await self.deleteSession(transaction, id: session)
            }
            try await self.audit(transaction, actor: actor, action: "purge", subject: "retention", details: [
                "as_of": String(now), "sessions_deleted": String(expired.count), "rows_deleted": String(rows),
            ])
            return Purge(sessionsDeleted: expired.count, rowsDeleted: rows, asOf: now)
        }
        try await database.compact()
        return purge
    }
}
