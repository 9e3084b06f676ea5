import AffectCore
import AffectStore
import Foundation

extension StudyReport {
    /// One participant's records of one viewing: a stored session, or one analysed video.
    public struct Recording: Sendable {
        public var participant: String
        public var stimulus: String?
        public var provenance: String
        /// Self-reported attributes, when the participant gave them.
        public var segment: [String: String]?
        public var records: [MinimisedRecord]

        public init(participant: String, stimulus: String?, provenance: String, segment: [String: String]? = nil,
                    records: [MinimisedRecord]) {
            self.participant = participant
            self.stimulus = stimulus
            self.provenance = provenance
            self.segment = segment
            self.records = records
        }
    }

    /// What a report is computed from.
    public struct Input: Sendable {
        public var study: StudyInfo
        public var excludedEmotions: Set<Emotion>
        public var stimuli: [Stimulus]
        public var recordings: [Recording]
        public var provenance: [String: Provenance]
        public var binMilliseconds: Double
        public var generatedAt: Date
        /// Compare participants by this self-reported attribute (e.g. `age`), if given.
        public var segmentBy: String?

        public init(study: StudyInfo, excludedEmotions: Set<Emotion> = [], stimuli: [Stimulus], recordings: [Recording],
                    provenance: [String: Provenance], binMilliseconds: Double = 500, generatedAt: Date = Date(),
                    segmentBy: String? = nil) {
            self.segmentBy = segmentBy
            self.study = study
            self.excludedEmotions = excludedEmotions
            self.stimuli = stimuli
            self.recordings = recordings
            self.provenance = provenance
            self.binMilliseconds = binMilliseconds
            self.generatedAt = generatedAt
        }
    }

    /// Reads a study from the store and computes its report, changing nothing: reading a report
    /// neither spends privacy budget nor queues moments. With `segmentBy`, the report compares
    /// participants by that attribute; in a study with a privacy budget that table is the latest one
    /// released (``releaseSegments(store:study:segmentBy:epsilon:idempotencyKey:actor:)``), and there is
    /// none to show before the first release. Each moment shows its review, once queued
    /// (``queueMoments(store:study:binMilliseconds:)``).
    public static func build(store: PrivacyStore, study reference: String, binMilliseconds: Double = 500,
                             segmentBy: String? = nil) async throws -> StudyReport {
        let study = try await store.study(reference)
        var report = try await compute(store: store, study: study, binMilliseconds: binMilliseconds, segmentBy: segmentBy)
        let reviews = try await store.audienceMomentReviews(study: study.id, report.moments.map(\.candidate))
        for (index, review) in zip(report.moments.indices, reviews) {
            report.moments[index].review = review?.status.rawValue ?? "not queued"
            report.moments[index].reviewId = review?.id
        }
        guard let segmentBy, study.definition.privacyBudget != nil else { return report }
        guard let release = try await store.latestRelease(study: study.id, description: Self.releaseDescription(segmentBy)),
              let content = release.content,
              var table = try? Self.decoder().decode(SegmentTable.self, from: Data(content.utf8)) else {
            throw StoreError.invalidInput("this study releases segment comparisons only with differential privacy, "
                + "and none by \(segmentBy) has been released yet (POST .../releases, or affect report --epsilon)")
        }
        table.budgetRemaining = try await store.privacyBudget(study: study.id)?.remaining
        report.segments = table
        return report
    }

    /// What one release of a segment comparison gave: the noised table, the release that spent
    /// budget for it (nil when no cell had k participants, so nothing was published or spent), and
    /// the budget after it.
    public struct SegmentRelease: Sendable {
        public var table: SegmentTable
        public var release: PrivacyStore.PrivacyRelease?
        public var budget: PrivacyStore.PrivacyBudget
        /// True when an earlier request with the same idempotency key made this release.
        public var replayed: Bool
    }

    /// Releases the study's segment comparison by `segmentBy` with Laplace noise of total `epsilon`,
    /// spent from the study's budget in the same transaction that records what was released. A table
    /// with no cell to publish spends nothing. A retry with the same `idempotencyKey` returns the
    /// first release's numbers and spends nothing again.
    public static func releaseSegments(store: PrivacyStore, study reference: String, segmentBy: String, epsilon: Double,
                                       idempotencyKey: String?, actor: String) async throws -> SegmentRelease {
        let study = try await store.study(reference)
        guard let budget = try await store.privacyBudget(study: study.id) else {
            throw StoreError.invalidInput("this study has no privacy budget (create it with one): its segment comparisons are in its report")
        }
        let report = try await compute(store: store, study: study, binMilliseconds: 500, segmentBy: segmentBy)
        guard var table = report.segments else { throw StoreError.invalidInput("no segment comparison to release") }
        guard table.releasedValues > 0 else { return SegmentRelease(table: table, release: nil, budget: budget, replayed: false) }
        var generator = SystemRandomNumberGenerator()
        table.addNoise(epsilon: epsilon, using: &generator)
        let content = String(decoding: try encoder().encode(table), as: UTF8.self)
        let (release, after, replayed) = try await store.recordRelease(
            study: study.id, epsilon: epsilon, description: releaseDescription(segmentBy), content: content,
            idempotencyKey: idempotencyKey, actor: actor)
        // A replay returns what was released then, never the draw just made.
        if replayed, let kept = release.content {
            table = try decoder().decode(SegmentTable.self, from: Data(kept.utf8))
        }
        table.budgetRemaining = after.remaining
        return SegmentRelease(table: table, release: release, budget: after, replayed: replayed)
    }

    /// Finds the study's audience moments and queues those not seen before for review; returns the
    /// reviews in the report's order.
    public static func queueMoments(store: PrivacyStore, study reference: String,
                                    binMilliseconds: Double = 500) async throws -> [PrivacyStore.AudienceMomentReview] {
        let study = try await store.study(reference)
        let report = try await compute(store: store, study: study, binMilliseconds: binMilliseconds, segmentBy: nil)
        return try await store.queueAudienceMoments(study: study.id, report.moments.map(\.candidate))
    }

    static func releaseDescription(_ segmentBy: String) -> String { "report: segments by \(segmentBy)" }

    /// The report of the study's stored results, before reviews and releases are looked up.
    private static func compute(store: PrivacyStore, study: Study, binMilliseconds: Double,
                                segmentBy: String?) async throws -> StudyReport {
        let sessions = try await store.sessionResults(study: study.id)
        var provenance: [String: Provenance] = [:]
        for id in Set(sessions.map(\.session.provenanceID)) { provenance[id] = try await store.provenance(id: id) }
        let definition = study.definition
        let info = StudyInfo(id: study.id, name: definition.name, purpose: definition.purpose, mode: definition.mode,
                             k: definition.kAnonymity, noticeVersion: definition.noticeVersion)
        let recordings = sessions.map {
            Recording(participant: $0.participantID, stimulus: $0.session.stimulusID, provenance: $0.session.provenanceID,
                      segment: $0.segment, records: $0.records)
        }
        return StudyReport(Input(study: info, excludedEmotions: definition.excludedEmotions,
                                 stimuli: try await store.stimuli(study: study.id), recordings: recordings,
                                 provenance: provenance, binMilliseconds: binMilliseconds, segmentBy: segmentBy))
    }

    /// Thresholds of the audience-moment search.
    static let momentRise = 0.1

    public init(_ input: Input) {
        study = input.study
        let k = input.study.k
        let formatter = ISO8601DateFormatter()
        generatedAt = formatter.string(from: input.generatedAt)
        binMs = input.binMilliseconds
        expressions = Emotion.allCases.filter { !input.excludedEmotions.contains($0) }

        // Per stimulus, the audience: each participant's records in bins (the same computation as the
        // results API and the dashboard).
        let byStimulus = Dictionary(grouping: input.recordings, by: \.stimulus)
        let stimuliByID = Dictionary(uniqueKeysWithValues: input.stimuli.map { ($0.id, $0) })
        var sections: [StimulusSection] = []
        var cellsByStimulus: [String?: [String: [Int: ContributorSeries.Cell]]] = [:]
        for (stimulusID, sessions) in byStimulus {
            var timeline = AudienceTimeline(binMilliseconds: input.binMilliseconds)
            for (index, set) in sessions.enumerated() {
                for record in set.records { timeline.add(record, contributor: set.participant, recording: index) }
            }
            // A participant with no analysed frame contributes nothing.
            let participants = timeline.contributors.filter { !$0.value.isEmpty }
            cellsByStimulus[stimulusID] = participants
            let stimulus = stimulusID.flatMap { stimuliByID[$0] }
            sections.append(Self.section(stimulusID: stimulusID, stimulus: stimulus, timeline: timeline, participants: participants,
                                         k: k))
        }
        stimuli = sections.sorted { ($0.name, $0.variant ?? "") < ($1.name, $1.variant ?? "") }

        comparisons = Self.comparisons(stimuli: input.stimuli, cells: cellsByStimulus, k: k, binMilliseconds: input.binMilliseconds)
        moments = stimuli.flatMap { section in
            Self.moments(in: section, participants: cellsByStimulus[section.stimulusId] ?? [:], binMilliseconds: input.binMilliseconds)
        }
        let counts = Dictionary(grouping: input.recordings, by: \.provenance).mapValues(\.count)
        provenance = counts.keys.sorted().map { id in
            ProvenanceEntry(id: id, sessions: counts[id] ?? 0, models: input.provenance[id]?.models ?? [:],
                            configuration: input.provenance[id]?.configuration ?? [:])
        }
        segments = input.segmentBy.map { Self.segments(by: $0, recordings: input.recordings, stimuli: stimuliByID, k: k) }
        let onDevice = provenance.filter { $0.configuration["analysis"] == "device" }.reduce(0) { $0 + $1.sessions }
        method = Self.method(k: k, binMilliseconds: input.binMilliseconds, mode: input.study.mode, devices: onDevice > 0)
        limitations = Self.limitations + (onDevice == 0 ? [] : [Self.deviceLimitation(sessions: onDevice)])
    }

    // MARK: Sections

    static func section(stimulusID: String?, stimulus: Stimulus?, timeline: AudienceTimeline,
                        participants: [String: [Int: ContributorSeries.Cell]], k: Int) -> StimulusSection {
        let (bins, suppressed) = timeline.bins(minimumContributors: k)
        var overall: Overall?
        if participants.count >= k {
            let pooled = participants.values.map { $0.values.reduce(ContributorSeries.Cell(), +) }
            let summary = AudienceBin(timeMilliseconds: 0, cells: pooled)
            overall = Overall(expressions: summary.expressions, valence: summary.valence, arousal: summary.arousal,
                              engagement: summary.engagement, attention: summary.attention,
                              measures: summary.measures.isEmpty ? nil : summary.measures)
        }
        return StimulusSection(stimulusId: stimulusID, name: stimulus?.name ?? stimulusID ?? "(no stimulus)", variant: stimulus?.variant,
                               participants: participants.count >= k ? participants.count : nil, overall: overall,
                               bins: bins, suppressedBins: suppressed)
    }

    // MARK: A/B

    /// Every pair of a stimulus's variants, in variant order. With more than two variants, each pair's
    /// overall p is also adjusted (Benjamini-Hochberg) across the pairs, and the plain-words verdict
    /// follows the adjusted value: testing every pair of many variants would otherwise find a
    /// difference by chance.
    static func comparisons(stimuli: [Stimulus], cells: [String?: [String: [Int: ContributorSeries.Cell]]], k: Int,
                            binMilliseconds: Double) -> [Comparison] {
        var result: [Comparison] = []
        for (name, variants) in Dictionary(grouping: stimuli, by: \.name).sorted(by: { $0.key < $1.key }) where variants.count >= 2 {
            let ordered = variants.sorted { $0.variant < $1.variant }
            var pairs: [Comparison] = []
            for first in ordered.indices {
                for second in ordered.indices where second > first {
                    pairs.append(compare(name: name, a: ordered[first], b: ordered[second], cells: cells, k: k,
                                         binMilliseconds: binMilliseconds))
                }
            }
            let tested = pairs.indices.filter { pairs[$0].overall != nil }
            if pairs.count > 1, !tested.isEmpty {
                let q = MultipleComparisons.benjaminiHochberg(tested.compactMap { pairs[$0].overall?.p })
                for (position, index) in tested.enumerated() {
                    pairs[index].overallQ = q[position]
                    pairs[index].statement = statement(name: name, a: pairs[index].variantA, b: pairs[index].variantB,
                                                       overall: pairs[index].overall, overallQ: q[position], pairs: pairs.count,
                                                       bins: pairs[index].bins.count, significant: pairs[index].significantBins)
                }
            }
            result += pairs
        }
        return result
    }

    /// Variant `a` against variant `b` on the participants' valence.
    static func compare(name: String, a: Stimulus, b: Stimulus, cells: [String?: [String: [Int: ContributorSeries.Cell]]],
                        k: Int, binMilliseconds: Double) -> Comparison {
        let groupA = Array((cells[a.id] ?? [:]).values), groupB = Array((cells[b.id] ?? [:]).values)
        guard groupA.count >= k, groupB.count >= k else {
            return Comparison(name: name, variantA: a.variant, variantB: b.variant, measure: "valence", overall: nil,
                              bins: [], significantBins: 0,
                              statement: "Not compared: each variant needs at least \(k) participants "
                                  + "(the study's k); the counts are withheld.")
        }
        let overallA = groupA.compactMap { $0.values.reduce(ContributorSeries.Cell(), +).meanValence }
        let overallB = groupB.compactMap { $0.values.reduce(ContributorSeries.Cell(), +).meanValence }
        let overall = WelchTest(overallA, overallB)
        var differences: [Comparison.BinDifference] = []
        for index in Set(groupA.flatMap(\.keys)).intersection(groupB.flatMap(\.keys)).sorted() {
            let valuesA = groupA.compactMap { $0[index]?.meanValence }, valuesB = groupB.compactMap { $0[index]?.meanValence }
            guard valuesA.count >= k, valuesB.count >= k, let test = WelchTest(valuesA, valuesB) else { continue }
            differences.append(.init(timeMilliseconds: Double(index) * binMilliseconds, difference: test.difference,
                                     low: test.differenceLow, high: test.differenceHigh, p: test.p, q: test.p))
        }
        let q = MultipleComparisons.benjaminiHochberg(differences.map(\.p))
        for index in differences.indices { differences[index].q = q[index] }
        let significant = differences.filter { $0.q <= 0.05 }.count
        return Comparison(name: name, variantA: a.variant, variantB: b.variant, measure: "valence", overall: overall,
                          bins: differences, significantBins: significant,
                          statement: statement(name: name, a: a.variant, b: b.variant, overall: overall, overallQ: nil, pairs: 1,
                                               bins: differences.count, significant: significant))
    }

    /// The comparison in plain words; with several pairs, the verdict follows the p adjusted across them.
    static func statement(name: String, a: String, b: String, overall: WelchTest?, overallQ: Double?, pairs: Int,
                          bins: Int, significant: Int) -> String {
        guard let test = overall else {
            return "\(name): variants \(a) and \(b) could not be compared (no spread in the participants' values)."
        }
        let direction = test.difference >= 0 ? "higher" : "lower"
        let decisive = overallQ ?? test.p
        let adjusted = overallQ.map { String(format: ", %.3f adjusted for the %d pairs of variants compared", $0, pairs) } ?? ""
        let verdict = decisive < 0.05
            ? "a statistically significant difference (\(overallQ == nil ? "p" : "adjusted p") < 0.05)"
            : "no statistically significant difference (\(overallQ == nil ? "p" : "adjusted p") ≥ 0.05): the data are "
                + "compatible with no difference"
        return String(format: "%@: the mean valence of faces watching variant %@ was %.3f %@ than for variant %@ "
            + "(95%% CI %.3f to %.3f; Welch's t = %.2f, df = %.1f, p = %.3f%@; Hedges' g = %@; %d and %d participants): %@. "
            + "%d of %d bins differ at a false discovery rate of 5%%. Valence here summarises estimated facial "
            + "expressions, not what anyone felt.",
            name, a, abs(test.difference), direction, b, test.differenceLow, test.differenceHigh, test.t, test.degreesOfFreedom,
            test.p, adjusted, test.hedgesG.map { String(format: "%.2f", $0) } ?? "n/a", test.a.count, test.b.count, verdict,
            significant, bins)
    }

    // MARK: Moments

    static func moments(in section: StimulusSection, participants: [String: [Int: ContributorSeries.Cell]],
                        binMilliseconds: Double) -> [AudienceMoment] {
        var found: [AudienceMoment] = []
        let finished = Array(participants.values)
        for emotion in Emotion.allCases where emotion != .neutral {
            let series = section.bins.compactMap { bin in bin.expressions[emotion.index].map { (bin, $0.mean) } }
            guard series.count >= 3, let baseline = Quantiles.median(series.map(\.1)) else { continue }
            var run: [(Bin, Double)] = []
            func close() {
                defer { run = [] }
                guard let peak = run.max(by: { $0.1 < $1.1 }), let first = run.first, let last = run.last else { return }
                let index = Int((peak.0.timeMilliseconds / binMilliseconds).rounded())
                let present = finished.compactMap { cells -> Bool? in
                    guard let value = cells[index]?.expression(emotion.index) else { return nil }
                    let own = Quantiles.median(cells.values.compactMap { $0.expression(emotion.index) }) ?? value
                    return value >= own + momentRise
                }
                found.append(AudienceMoment(
                    stimulusId: section.stimulusId, stimulus: [section.name, section.variant].compactMap { $0 }.joined(separator: " "),
                    expression: emotion, onsetMs: first.0.timeMilliseconds, peakMs: peak.0.timeMilliseconds,
                    durationMs: last.0.timeMilliseconds + binMilliseconds - first.0.timeMilliseconds, peak: peak.1,
                    baseline: baseline,
                    shareOfAudience: present.isEmpty ? 0 : Double(present.filter { $0 }.count) / Double(present.count),
                    review: "pending", reviewId: nil))
            }
            for (bin, mean) in series {
                // Consecutive bins only: a withheld bin ends a run.
                if let previous = run.last, bin.timeMilliseconds - previous.0.timeMilliseconds > binMilliseconds * 1.5 { close() }
                if mean >= baseline + momentRise { run.append((bin, mean)) } else if !run.isEmpty { close() }
            }
            if !run.isEmpty { close() }
        }
        return found.sorted { ($0.peak - $0.baseline) > ($1.peak - $1.baseline) }.prefix(20).map { $0 }
    }

    // MARK: Words

    static func method(k: Int, binMilliseconds: Double, mode: ProcessingMode, devices: Bool = false) -> [String] {
        [
            "Each sampled video frame was scored by a face detector and a facial-expression classifier (models below); "
                + (devices
                    ? "on the server, which analysed frames in memory and never stored them, or, in sessions marked "
                        + "\"analysis = device\", in the participant's browser, which sent only the scores."
                    : "frames were analysed in memory and never stored."),
            "Times are on the stimulus clock: the media time of the stimulus when the frame was captured, in bins of "
                + "\(Int(binMilliseconds)) ms.",
            "Per bin, each participant's records are averaged first; the audience value is the mean over participants "
                + "with a 95% Student t interval, so the unit of every interval and test is the participant, not the frame.",
            "Valence and arousal place each expression on Russell's circumplex and take the probability-weighted mean "
                + "(see the model card).",
            "Engagement is the share of a participant's analysed frames with an engaged face, averaged over "
                + "participants. In studies that measure faces it is the attention curve: a face attends when its head "
                + "(fitted to the face mesh) is turned less than \(Int(Attention.yawLimit))° sideways and "
                + "\(Int(Attention.pitchLimit))° up or down and its eyes are open (eyes_open at least "
                + "\(Attention.eyesOpenMinimum)). Otherwise a face counts when it looks roughly at the camera (the nose "
                + "within 0.35 inter-eye distances of the eyes' midpoint, about a 30° turn).",
            "Measures (studies that measure faces): head pose by fitting MediaPipe's face mesh to a generic 3-D face, "
                + "gaze from the irises' position in the eyes added to it, eyes and mouth openness from landmark ratios, "
                + "blinks per minute from each tracked face's eye openness (reported only where at least 10 frames a second were analysed; "
                + "blinks need about 15). Each is averaged per participant, then over participants.",
            "Bins with fewer than \(k) participants (the study's k) are withheld entirely, as are participant counts "
                + "below k.",
            "Variants are compared on each participant's mean valence over the whole stimulus with Welch's t-test "
                + "(two-sided, α = 0.05) and Hedges' g; per-bin differences are tested the same way and adjusted for "
                + "multiple comparisons with the Benjamini-Hochberg procedure (false discovery rate 5%). A stimulus with "
                + "more than two variants has every pair compared, and each pair's overall p is adjusted the same way "
                + "across the pairs.",
            "Audience moments are runs of bins where an expression's audience mean rose at least "
                + "\(momentRise) above its median over the stimulus; they await human review and nothing acts on them.",
            "Stored data follows the study's mode (\(mode.rawValue)).",
        ]
    }

    static let limitations = [
        "Scores are probabilistic estimates of how faces looked, from a classifier trained on posed and web images "
            + "(FER2013); they are not measurements of emotion, and say nothing about any individual's inner state.",
        "The classifier's accuracy is about 65% on FER2013 test images and lower on faces unlike its training data "
            + "(lighting, pose, age, skin tone, occlusion); see the model card.",
        "Attention and engagement judge where a face is turned, not what the person looks at or thinks about: "
            + "a face straight at the screen can be elsewhere in mind, and head pose from a generic 3-D face is off "
            + "by a few degrees for any one person (steadily, so changes over time say more than levels).",
        "Small audiences give wide intervals; a non-significant difference is not evidence of no difference.",
    ]

    /// What a reader must know about scores made in participants' browsers.
    static func deviceLimitation(sessions: Int) -> String {
        "\(sessions) session\(sessions == 1 ? " was" : "s were") analysed in participants' browsers (device analysis): only "
            + "scores reached the server, which checked the analysis files the page reported running and every value's "
            + "range, but never saw the pictures, so it could not check their quality (light, framing, a covered face)."
    }
}

extension StudyReport.AudienceMoment {
    /// The moment as the review queue keys and keeps it.
    var candidate: PrivacyStore.AudienceMomentCandidate {
        .init(stimulusID: stimulusId, expression: expression, onsetMs: onsetMs, peakMs: peakMs, durationMs: durationMs,
              peak: peak, share: shareOfAudience)
    }
}
