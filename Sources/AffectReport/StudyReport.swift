import AffectCore
import Foundation

/// Everything a study report shows, and nothing it does not: the JSON export is this value, the
/// CSV export flattens it, and the HTML report draws it.
///
/// Every interval and test counts participants, not frames. A bin with fewer than the study's k
/// participants is withheld, values and count alike.
public struct StudyReport: Sendable, Codable {
    public struct StudyInfo: Sendable, Codable {
        public var id: String
        public var name: String
        public var purpose: String
        public var mode: ProcessingMode
        /// The smallest audience any released number may describe.
        public var k: Int
        public var noticeVersion: String

        public init(id: String, name: String, purpose: String, mode: ProcessingMode, k: Int, noticeVersion: String) {
            self.id = id
            self.name = name
            self.purpose = purpose
            self.mode = mode
            self.k = k
            self.noticeVersion = noticeVersion
        }
    }

    /// A mean over participants with its 95% interval (see ``AudienceEstimate``).
    public typealias Estimate = AudienceEstimate
    /// One bin of stimulus time (see ``AudienceBin``).
    public typealias Bin = AudienceBin

    /// One stimulus variant's audience.
    public struct StimulusSection: Sendable, Codable {
        public var stimulusId: String?
        public var name: String
        public var variant: String?
        /// Participants who watched it; nil when fewer than k.
        public var participants: Int?
        /// Over the whole stimulus, per participant first: expressions, valence, arousal, engagement.
        public var overall: Overall?
        public var bins: [Bin]
        public var suppressedBins: Int
    }

    public struct Overall: Sendable, Codable {
        public var expressions: [Estimate?]
        public var valence: Estimate?
        public var arousal: Estimate?
        public var engagement: Estimate?
        /// With measured faces: the share of frames attending, and each measure's mean (``AudienceBin``).
        public var attention: Estimate?
        public var measures: [String: Estimate]?
    }

    /// One pair of a stimulus's variants, on valence (every pair when it has more than two).
    public struct Comparison: Sendable, Codable {
        public struct BinDifference: Sendable, Codable {
            public var timeMilliseconds: Double
            public var difference: Double
            public var low: Double
            public var high: Double
            public var p: Double
            /// Benjamini-Hochberg adjusted across the bins compared.
            public var q: Double

            enum CodingKeys: String, CodingKey { case timeMilliseconds = "t_ms", difference, low, high, p, q }
        }

        public var name: String
        public var variantA: String
        public var variantB: String
        public var measure: String
        /// Welch's test on each participant's mean over the whole stimulus; nil when a variant has fewer than k.
        public var overall: WelchTest?
        /// With more than two variants, the overall p adjusted (Benjamini-Hochberg) across the stimulus's pairs.
        public var overallQ: Double?
        public var bins: [BinDifference]
        public var significantBins: Int
        /// The result in plain words.
        public var statement: String
    }

    /// An audience-level peak of one expression, for a person to review; nothing acts on it.
    public struct AudienceMoment: Sendable, Codable {
        public var stimulusId: String?
        public var stimulus: String
        public var expression: Emotion
        public var onsetMs: Double
        public var peakMs: Double
        public var durationMs: Double
        /// The audience mean at the peak, and the usual level it rose from (the median over bins).
        public var peak: Double
        public var baseline: Double
        /// Share of the participants at the peak whose own estimate rose as much above their own usual level.
        public var shareOfAudience: Double
        /// `not queued` until queued for review (`POST .../audience-moments`, `affect report`), then `pending` until
        /// a person confirms or dismisses it (`affect moments`).
        public var review: String
        /// Its entry in the study's review queue, for reports read from a store.
        public var reviewId: String?
    }

    public struct ProvenanceEntry: Sendable, Codable {
        public var id: String
        public var sessions: Int
        public var models: [String: String]
        public var configuration: [String: String]
    }

    public var study: StudyInfo
    public var generatedAt: String
    public var binMs: Double
    public var expressions: [Emotion]
    public var stimuli: [StimulusSection]
    public var comparisons: [Comparison]
    public var moments: [AudienceMoment]
    /// Participants compared by a self-reported attribute, when asked for.
    public var segments: SegmentTable?
    public var provenance: [ProvenanceEntry]
    public var method: [String]
    public var limitations: [String]
}
