import AffectCore

/// A stored study: its definition, id and creation time.
public struct Study: Sendable, Hashable, Codable {
    public var id: String
    public var definition: StudyDefinition
    /// Milliseconds since 1970.
    public var createdAt: Int64

    init(row: SQLRow) throws {
        id = try row.text("id")
        let context = try StudyContext(rawValue: row.text("context")).orThrow(column: "context")
        let mode = try ProcessingMode(rawValue: row.text("mode")).orThrow(column: "mode")
        let exemption = try row["exemption"].string.map { try ArticleFiveExemption(rawValue: $0).orThrow(column: "exemption") }
        definition = StudyDefinition(
            name: try row.text("name"), purpose: try row.text("purpose"), context: context, exemption: exemption,
            legalBasis: try row.text("legal_basis"), mode: mode, retentionDays: Int(try row.integer("retention_days")),
            kAnonymity: Int(try row.integer("k_anonymity")),
            excludedEmotions: try EmotionList.decode(row.text("excluded_emotions")),
            windowMilliseconds: try row.real("window_ms"), noticeVersion: try row.text("notice_version"),
            onWithdrawal: try WithdrawalPolicy(rawValue: row.text("on_withdrawal")).orThrow(column: "on_withdrawal"),
            participantReadout: (row["participant_readout"].int64 ?? 0) != 0,
            privacyBudget: row["privacy_budget"].double, measures: (row["measures"].int64 ?? 0) != 0,
            analysis: try AnalysisLocation(rawValue: row.text("analysis")).orThrow(column: "analysis"),
            deviceFallback: (row["device_fallback"].int64 ?? 0) != 0, deviceFramesPerSecond: row["device_fps"].double,
            transport: try CaptureTransport(rawValue: row.text("transport")).orThrow(column: "transport"),
            captureFramesPerSecond: row["capture_fps"].double, everyFrame: (row["every_frame"].int64 ?? 0) != 0)
        createdAt = try row.integer("created_at")
    }
}

/// Expression sets stored as comma-separated names in class order.
enum EmotionList {
    static func encode(_ emotions: Set<Emotion>) -> String {
        Emotion.allCases.filter(emotions.contains).map(\.rawValue).joined(separator: ",")
    }

    static func decode(_ text: String) throws -> Set<Emotion> {
        Set(try text.split(separator: ",").map { try Emotion(rawValue: String($0)).orThrow(column: "excluded_emotions") })
    }
}

extension Optional {
    func orThrow(column: String) throws -> Wrapped {
        guard let self else { throw StoreError.corruptRow(column: column) }
        return self
    }
}
