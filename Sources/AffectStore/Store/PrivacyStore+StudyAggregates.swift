import AffectCore

extension PrivacyStore {
    /// Adds a withdrawing participant's per-window means to the study's anonymous sums, before their
    /// rows are deleted. One contribution per window (the mean over their sessions in it), with no
    /// link back to them; windows are on the study's grid of session time. Participants who excluded
    /// expressions are not folded in: their renormalised values would not add up with everyone else's.
    /// Returns the number of windows contributed to.
    func foldIntoStudyAggregates(_ transaction: any SQLTransaction, participant: Participant, study: Study) async throws -> Int {
        guard participant.excludedEmotions.isEmpty else { return 0 }
        let window = study.definition.windowMilliseconds
        var perWindow: [Double: [[Double?]]] = [:]
        let sessions = try await transaction.query("SELECT id FROM sessions WHERE participant_id = ?", [.text(participant.id)])
            .compactMap { $0["id"].string }
        for session in sessions {
            var sums: [Double: (count: Int, values: [Double])] = [:]
            for record in try await loadRecords(transaction, session: session) {
                let (start, emotions): (Double, ReportedEmotions?) = switch record {
                case .face(let row): ((row.timeMilliseconds / window).rounded(.down) * window, row.emotions)
                case .group(let row): ((row.timeMilliseconds / window).rounded(.down) * window, row.emotions)
                case .window(let row): ((row.startMilliseconds / window).rounded(.down) * window, row.emotions)
                case .moment, .noFace: (0, nil)
                }
                guard let emotions else { continue }
                var entry = sums[start] ?? (0, Array(repeating: 0, count: Emotion.allCases.count))
                entry.count += 1
                for emotion in Emotion.allCases { entry.values[emotion.index] += emotions[emotion] ?? 0 }
                sums[start] = entry
            }
            for (start, entry) in sums {
                let mean: [Double?] = Emotion.allCases.map { emotion in
                    study.definition.excludedEmotions.contains(emotion) ? nil : entry.values[emotion.index] / Double(entry.count)
                }
                perWindow[start, default: []].append(mean)
            }
        }
        for (start, means) in perWindow {
            // Several sessions in one window still make one contribution: their mean.
            let contribution: [Double?] = Emotion.allCases.map { emotion in
                let values = means.compactMap { $0[emotion.index] }
                return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
            }
            let existing = try await transaction.query(
                "SELECT * FROM study_aggregates WHERE study_id = ? AND start_ms = ?", [.text(study.id), .real(start)]).first
            if let existing {
                let assignments = Emotion.allCases.map { "\($0.rawValue) = ?" }.joined(separator: ", ")
                let values = Emotion.allCases.map { emotion -> SQLValue in
                    guard let added = contribution[emotion.index] else { return existing[emotion.rawValue] }
                    return .real((existing[emotion.rawValue].double ?? 0) + added)
                }
                try await transaction.execute(
                    "UPDATE study_aggregates SET contributors = contributors + 1, \(assignments) WHERE study_id = ? AND start_ms = ?",
                    values + [.text(study.id), .real(start)])
            } else {
                let marks = Array(repeating: "?", count: 7).joined(separator: ", ")
                try await transaction.execute(
                    "INSERT INTO study_aggregates (study_id, start_ms, end_ms, contributors, \(Schema.emotionColumns)) VALUES (?, ?, ?, 1, \(marks))",
                    [.text(study.id), .real(start), .real(start + window)] + contribution.map { SQLValue($0) })
            }
        }
        return perWindow.count
    }

    /// A study's anonymous window sums, each released only when at least k people contributed.
    public struct StudyWindow: Sendable, Hashable, Codable {
        public var startMilliseconds: Double
        public var endMilliseconds: Double
        public var contributors: Int
        /// The mean over contributors of their per-window means; nil for excluded expressions.
        public var meanEmotions: [Double?]
    }

    /// The study's retained windows that have at least `k` contributors (smaller ones are withheld).
    public func retainedWindows(study reference: String) async throws -> [StudyWindow] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await transaction.query(
                "SELECT * FROM study_aggregates WHERE study_id = ? AND contributors >= ? ORDER BY start_ms",
                [.text(study.id), SQLValue(study.definition.kAnonymity)]).map { row in
                let contributors = Int(try row.integer("contributors"))
                return StudyWindow(startMilliseconds: try row.real("start_ms"), endMilliseconds: try row.real("end_ms"),
                                   contributors: contributors,
                                   meanEmotions: Emotion.allCases.map { row[$0.rawValue].double.map { $0 / Double(contributors) } })
            }
        }
    }
}
