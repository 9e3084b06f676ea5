/// A recorded video queued for analysis into a study, for one consenting participant.
public struct Job: Sendable, Hashable, Codable {
    /// `queued`, `running` (claimed by a worker whose lease has not run out), `done` or `failed`.
    public var id: String
    public var studyID: String
    public var participantID: String
    /// What `affect analyze` would be given: a file path on the workers' machines or a stream URL.
    public var source: String
    public var status: String
    /// The worker running it (while `running`).
    public var owner: String?
    /// How many times a worker took it.
    public var attempts: Int
    /// The session its results go to, once a worker started it; a worker taking over resumes it.
    public var sessionID: String?
    /// Why it failed.
    public var error: String?
    public var submittedAt: Int64
    public var finishedAt: Int64?

    init(row: SQLRow) throws {
        id = try row.text("id")
        studyID = try row.text("study_id")
        participantID = try row.text("participant_id")
        source = try row.text("source")
        status = try row.text("status")
        owner = row["owner"].string
        attempts = Int(try row.integer("attempts"))
        sessionID = row["session_id"].string
        error = row["error"].string
        submittedAt = try row.integer("submitted_at")
        finishedAt = row["finished_at"].int64
    }
}
