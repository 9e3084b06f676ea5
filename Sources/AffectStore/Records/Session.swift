/// One analysis session of one participant, and the provenance of every score in it.
public struct Session: Sendable, Hashable, Codable {
    public var id: String
    public var studyID: String
    public var participantID: String
    public var provenanceID: String
    /// The stimulus (and so the variant) the participant watched, when there is one.
    public var stimulusID: String?
    public var startedAt: Int64
    public var endedAt: Int64?
    /// `running`, `completed`, or `interrupted` (its owner's lease expired: the server died mid-capture).
    public var status: String
    /// Raised by each resume through the participant's link; writes carrying an older epoch are refused.
    public var epoch: Int64

    init(row: SQLRow) throws {
        id = try row.text("id")
        studyID = try row.text("study_id")
        participantID = try row.text("participant_id")
        provenanceID = try row.text("provenance_id")
        stimulusID = row["stimulus_id"].string
        startedAt = try row.integer("started_at")
        endedAt = row["ended_at"].int64
        status = try row.text("status")
        epoch = row["epoch"].int64 ?? 1
    }
}

/// What produced a session's scores: the model files' hashes and a hash of the pipeline configuration.
///
/// Its id is the SHA-256 of both, so identical setups share one row and any change of model
/// or setting is visible as a new id on every result.
public struct Provenance: Sendable, Hashable, Codable {
    /// Model name to SHA-256 of its file.
    public var models: [String: String]
    /// The pipeline settings that shape scores (detector, sampling, crop, smoothing...), as key/value text.
    public var configuration: [String: String]

    public init(models: [String: String], configuration: [String: String]) {
        self.models = models
        self.configuration = configuration
    }
}

/// Something participants watch while their faces are analysed (a trailer, an ad, a lesson clip),
/// in one of possibly several variants to compare.
public struct Stimulus: Sendable, Hashable, Codable {
    public var id: String
    public var studyID: String
    public var name: String
    /// The variant label, e.g. `A` or `B`; variants of one stimulus share its name.
    public var variant: String
    /// Where the participant's browser gets the media: a web address or a file uploaded to the server.
    public var source: StimulusSource
    /// An uploaded file's SHA-256 (hex) when it was uploaded; nil for a web address.
    public var sha256: String?
    public var createdAt: Int64

    init(row: SQLRow) throws {
        id = try row.text("id")
        studyID = try row.text("study_id")
        name = try row.text("name")
        variant = try row.text("variant")
        source = StimulusSource(storedText: try row.text("source"))
        sha256 = row["sha256"].string
        createdAt = try row.integer("created_at")
    }
}
