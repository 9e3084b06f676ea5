import Foundation

/// Every table, in one place, as numbered migrations that both backends run.
///
/// The SQL is the subset SQLite and PostgreSQL share: `BIGINT` and `DOUBLE PRECISION`
/// get INTEGER and REAL affinity in SQLite. Times are integer milliseconds since 1970
/// so the audit chain hashes the same text on both backends. No table has a binary
/// column: nothing derived from pixels except probabilities is ever stored.
enum Schema {
    /// Spelled out rather than derived from `Emotion`: a migration's SQL must never change.
    private static let emotionNames = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    static let emotionColumns = emotionNames.joined(separator: ", ")
    private static let probabilities = emotionNames.map { "\($0) DOUBLE PRECISION" }.joined(separator: ", ")

    /// The migrations for one backend, in order: the shared ones, and those whose SQL differs by dialect.
    static func migrations(for dialect: SQLDialect) -> [(version: Int, statements: [String])] {
        (sharedMigrations + [naturalKeys(dialect), cluster(dialect)]).sorted { $0.version < $1.version }
    }

    /// Migrations whose SQL is the same on both backends.
    private static let sharedMigrations: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE studies (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, purpose TEXT NOT NULL, context TEXT NOT NULL,
                exemption TEXT, legal_basis TEXT NOT NULL, mode TEXT NOT NULL, retention_days BIGINT NOT NULL,
                k_anonymity BIGINT NOT NULL, excluded_emotions TEXT NOT NULL, window_ms DOUBLE PRECISION NOT NULL,
                notice_version TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE participants (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id),
                excluded_emotions TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE consents (
                id TEXT PRIMARY KEY, participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
                notice_version TEXT NOT NULL, notice_sha256 TEXT NOT NULL, purposes TEXT NOT NULL,
                granted_at BIGINT NOT NULL, withdrawn_at BIGINT)
            """,
            """
            CREATE TABLE provenance (
                id TEXT PRIMARY KEY, models TEXT NOT NULL, configuration TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id),
                participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
                provenance_id TEXT NOT NULL REFERENCES provenance(id),
                started_at BIGINT NOT NULL, ended_at BIGINT, status TEXT NOT NULL)
            """,
            """
            CREATE TABLE face_results (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                frame BIGINT NOT NULL, time_ms DOUBLE PRECISION NOT NULL, track BIGINT, \(probabilities))
            """,
            """
            CREATE TABLE group_frames (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                frame BIGINT NOT NULL, time_ms DOUBLE PRECISION NOT NULL, faces BIGINT NOT NULL, \(probabilities))
            """,
            """
            CREATE TABLE window_aggregates (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                start_ms DOUBLE PRECISION NOT NULL, end_ms DOUBLE PRECISION NOT NULL, frames BIGINT NOT NULL,
                frames_with_face BIGINT NOT NULL, \(probabilities))
            """,
            """
            CREATE TABLE audit_events (
                seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                subject TEXT NOT NULL, details TEXT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX participants_by_study ON participants(study_id)",
            "CREATE INDEX consents_by_participant ON consents(participant_id)",
            "CREATE INDEX sessions_by_participant ON sessions(participant_id)",
            "CREATE INDEX sessions_by_study ON sessions(study_id)",
            "CREATE INDEX face_results_by_session ON face_results(session_id, frame)",
            "CREATE INDEX group_frames_by_session ON group_frames(session_id, frame)",
            "CREATE INDEX window_aggregates_by_session ON window_aggregates(session_id, start_ms)",
        ]),
        (2, [
            """
            CREATE TABLE moments (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                track BIGINT NOT NULL, emotion TEXT NOT NULL, onset_ms DOUBLE PRECISION NOT NULL,
                peak_ms DOUBLE PRECISION NOT NULL, peak DOUBLE PRECISION NOT NULL, end_ms DOUBLE PRECISION NOT NULL)
            """,
            "CREATE INDEX moments_by_session ON moments(session_id, onset_ms)",
        ]),
        (3, [
            "ALTER TABLE studies ADD COLUMN on_withdrawal TEXT NOT NULL DEFAULT 'delete'",
            // Anonymous per-study window sums that withdrawn participants' results are folded into
            // under `keep-aggregates`: no participant, no session, one contribution per person and window.
            """
            CREATE TABLE study_aggregates (
                study_id TEXT NOT NULL REFERENCES studies(id), start_ms DOUBLE PRECISION NOT NULL,
                end_ms DOUBLE PRECISION NOT NULL, contributors BIGINT NOT NULL, \(probabilities),
                PRIMARY KEY (study_id, start_ms))
            """,
        ]),
        (4, [
            """
            CREATE TABLE stimuli (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id), name TEXT NOT NULL,
                variant TEXT NOT NULL, source TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (study_id, name, variant))
            """,
            "ALTER TABLE sessions ADD COLUMN stimulus_id TEXT REFERENCES stimuli(id)",
            // Self-reported attributes (age band, region...), stored only with consent to that purpose.
            "ALTER TABLE participants ADD COLUMN segment TEXT",
        ]),
        (5, [
            // API tokens are stored as SHA-256 only; the token itself is shown once, when created.
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL, revoked_at BIGINT)
            """,
        ]),
        (6, [
            // Single-use participant links: the secret in the link is stored as SHA-256 only.
            """
            CREATE TABLE invitations (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id), stimulus_id TEXT REFERENCES stimuli(id),
                secret_sha256 TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                used_at BIGINT, participant_id TEXT)
            """,
        ]),
        (7, [
            // A link opens one capture session: the second connection through it is refused.
            "ALTER TABLE invitations ADD COLUMN session_id TEXT",
        ]),
        (8, [
            // Whether participants see their own stored results live (off unless the study says so).
            "ALTER TABLE studies ADD COLUMN participant_readout BIGINT NOT NULL DEFAULT 0",
        ]),
        (9, [
            // Analysed frames without a face (individual mode): the denominator of engagement.
            """
            CREATE TABLE faceless_frames (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                frame BIGINT NOT NULL, time_ms DOUBLE PRECISION NOT NULL)
            """,
            "CREATE INDEX faceless_frames_by_session ON faceless_frames(session_id, frame)",
        ]),
        (10, [
            // Differential privacy: each study's ε budget, and every noised release that spent part of it.
            "ALTER TABLE studies ADD COLUMN privacy_budget DOUBLE PRECISION",
            """
            CREATE TABLE privacy_releases (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id), released_at BIGINT NOT NULL,
                epsilon DOUBLE PRECISION NOT NULL, description TEXT NOT NULL)
            """,
        ]),
        (11, [
            // Audience moments awaiting human review: audience-level numbers only (bins of at least k people).
            """
            CREATE TABLE audience_moments (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id), stimulus_id TEXT NOT NULL,
                expression TEXT NOT NULL, onset_ms DOUBLE PRECISION NOT NULL, peak_ms DOUBLE PRECISION NOT NULL,
                duration_ms DOUBLE PRECISION NOT NULL, peak DOUBLE PRECISION NOT NULL, share DOUBLE PRECISION NOT NULL,
                status TEXT NOT NULL, found_at BIGINT NOT NULL, reviewed_at BIGINT, reviewer TEXT, note TEXT,
                UNIQUE (study_id, stimulus_id, expression, onset_ms))
            """,
        ]),
        (12, [
            // Whether faces looked roughly at the camera (engagement); NULL for rows written before.
            "ALTER TABLE face_results ADD COLUMN frontal BIGINT",
            "ALTER TABLE group_frames ADD COLUMN frontal_faces BIGINT",
            "ALTER TABLE window_aggregates ADD COLUMN frames_with_frontal_face BIGINT",
        ]),
        (13, [
            // Stimuli are never server paths again (a path let a participant link download any file the
            // server could read). Uploads the server made itself (`.../stimuli/<UUID>.mp4|.webm`) become
            // `upload:<file>`; every other path is retired: nothing is served for it until re-uploaded.
            """
            UPDATE stimuli SET source = 'upload:' || substr(source, length(source) - 39)
            WHERE source LIKE '%/stimuli/________-____-____-____-____________.mp4'
            """,
            """
            UPDATE stimuli SET source = 'upload:' || substr(source, length(source) - 40)
            WHERE source LIKE '%/stimuli/________-____-____-____-____________.webm'
            """,
            """
            UPDATE stimuli SET source = 'retired:server-path'
            WHERE NOT (lower(substr(source, 1, 7)) = 'http://' OR lower(substr(source, 1, 8)) = 'https://'
                       OR substr(source, 1, 7) = 'upload:')
            """,
        ]),
        (14, [
            // A release is a POST: who made it, the key that makes its retry harmless, and what it released
            // (the noised table as first returned: a retry gets the same numbers, never a fresh draw).
            "ALTER TABLE privacy_releases ADD COLUMN actor TEXT",
            "ALTER TABLE privacy_releases ADD COLUMN idempotency_key TEXT",
            "ALTER TABLE privacy_releases ADD COLUMN content TEXT",
            "CREATE UNIQUE INDEX privacy_releases_by_key ON privacy_releases(study_id, idempotency_key)",
            "CREATE INDEX privacy_releases_by_study ON privacy_releases(study_id, released_at)",
        ]),
        (15, [
            // Crash recovery: a running session has an owner (a server process or a command) holding a
            // lease it renews on the database's clock, and an epoch that a resume through the link raises
            // so the earlier owner's writes are refused (fencing).
            "ALTER TABLE sessions ADD COLUMN owner TEXT",
            "ALTER TABLE sessions ADD COLUMN lease_expires_at BIGINT",
            "ALTER TABLE sessions ADD COLUMN epoch BIGINT NOT NULL DEFAULT 1",
            // Sessions left running by an Affect that had no leases were stranded by a crash: settled at once.
            "UPDATE sessions SET lease_expires_at = 0 WHERE status = 'running'",
            "CREATE INDEX sessions_by_lease ON sessions(status, lease_expires_at)",
        ]),
        (18, [
            // An uploaded stimulus's SHA-256, taken when it was uploaded: several servers serve it from
            // one shared folder, and each checks the file is still what was uploaded before sending it.
            "ALTER TABLE stimuli ADD COLUMN sha256 TEXT",
        ]),
        (19, [
            // Recorded videos queued for analysis by `affect worker` processes on any machine: a job is
            // claimed with a lease (SKIP LOCKED on PostgreSQL), and a worker that dies leaves it to be
            // taken over once the lease runs out.
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id),
                participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
                source TEXT NOT NULL, status TEXT NOT NULL, owner TEXT, lease_expires_at BIGINT,
                attempts BIGINT NOT NULL, session_id TEXT, error TEXT, submitted_at BIGINT NOT NULL,
                finished_at BIGINT)
            """,
            "CREATE INDEX jobs_queue ON jobs(status, submitted_at)",
        ]),
        (20, [
            // People who sign in to the console: the password only as a scrypt hash (``PasswordHash``).
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL, disabled_at BIGINT, password_changed_at BIGINT NOT NULL)
            """,
            // A signed-in browser: the cookie's secret only as SHA-256; gone at sign-out, expiry, disabling.
            """
            CREATE TABLE web_sessions (
                secret_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
            """,
            // Names are unique without case: "Ana" and "ana" are one person.
            "CREATE UNIQUE INDEX users_by_name ON users(lower(name))",
            "CREATE INDEX web_sessions_by_user ON web_sessions(user_id)",
            // Which studies a user or an API token (other than an admin) may reach.
            """
            CREATE TABLE study_access (
                study_id TEXT NOT NULL REFERENCES studies(id), grantee TEXT NOT NULL, granted_at BIGINT NOT NULL,
                PRIMARY KEY (study_id, grantee))
            """,
            "CREATE INDEX study_access_by_grantee ON study_access(grantee)",
            // Sign-in attempts per name and per address in the current window, counted in one statement.
            "CREATE TABLE sign_in_attempts (key TEXT PRIMARY KEY, window_start BIGINT NOT NULL, attempts BIGINT NOT NULL)",
            // The one-time link that lets the first admin choose a password.
            """
            CREATE TABLE setup_links (
                secret_sha256 TEXT PRIMARY KEY, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)
            """,
            "ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT",
            // A participant link revoked by its researcher (its expiry is brought forward to that moment too).
            "ALTER TABLE invitations ADD COLUMN revoked_at BIGINT",
        ]),
        (21, [
            // Studies that measure faces (head pose, gaze, eyes, mouth, attention: the landmark stage), and
            // what each mode keeps of it as JSON: a face's measures and blink (individual), or the measured
            // faces pooled as sums (group frames, windows). NULL where nothing was measured.
            "ALTER TABLE studies ADD COLUMN measures BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE face_results ADD COLUMN measures TEXT",
            "ALTER TABLE group_frames ADD COLUMN measures TEXT",
            "ALTER TABLE window_aggregates ADD COLUMN measures TEXT",
        ]),
        (22, [
            // Where a study's pictures are analysed: 'server' (frames over the WebSocket) or 'device' (the
            // participant's browser runs the models and sends only results), and whether a device study
            // offers server analysis, with its own consent, to browsers that cannot analyse.
            "ALTER TABLE studies ADD COLUMN analysis TEXT NOT NULL DEFAULT 'server'",
            "ALTER TABLE studies ADD COLUMN device_fallback BIGINT NOT NULL DEFAULT 0",
        ]),
        (23, [
            // The rate a device-analysis study's pages analyse at; NULL: the server's default.
            "ALTER TABLE studies ADD COLUMN device_fps DOUBLE PRECISION",
        ]),
        (24, [
            // How a server-analysis study's cameras reach the server, the WebRTC track's rate (NULL: the
            // server's default) and whether every frame it carries is analysed.
            "ALTER TABLE studies ADD COLUMN transport TEXT NOT NULL DEFAULT 'jpeg'",
            "ALTER TABLE studies ADD COLUMN capture_fps DOUBLE PRECISION",
            "ALTER TABLE studies ADD COLUMN every_frame BIGINT NOT NULL DEFAULT 0",
        ]),
    ]

    /// Tables of derived results, each keyed by `session_id`: what withdrawal, deletion and purge remove.
    static let resultTables = ["face_results", "faceless_frames", "group_frames", "window_aggregates", "moments"]

    /// Version 16: each result row gets its natural key (session, media time, and track where a row has
    /// one), so a batch committed twice (a commit whose answer was lost in an outage, a retry, a resume)
    /// stores its rows once: inserts skip a row whose key is already there. Duplicates an earlier
    /// Affect stored are removed first, keeping the oldest. A face without a track (analysis without
    /// tracking) has no key: several such faces share a frame's time, and SQL keeps NULLs distinct.
    private static func naturalKeys(_ dialect: SQLDialect) -> (version: Int, statements: [String]) {
        // The row's physical identity, to tell the oldest of its duplicates.
        let row = dialect == .postgres ? "ctid" : "rowid"
        let keys: [(table: String, index: String, columns: [String])] = [
            ("face_results", "face_results_key", ["session_id", "time_ms", "track"]),
            ("faceless_frames", "faceless_frames_key", ["session_id", "time_ms"]),
            ("group_frames", "group_frames_key", ["session_id", "time_ms"]),
            ("window_aggregates", "window_aggregates_key", ["session_id", "start_ms"]),
            ("moments", "moments_key", ["session_id", "track", "emotion", "onset_ms"]),
        ]
        return (16, keys.flatMap { key in
            let same = key.columns.map { "later.\($0) = earlier.\($0)" }.joined(separator: " AND ")
            let columns = key.columns.joined(separator: ", ")
            return [
                // A plain index on the key first: without it each row's search for an earlier twin scans
                // its whole session (measured on SQLite: 47 s for one hour-long session of 18 000 rows,
                // 0.02 s with the index).
                "CREATE INDEX \(key.index)_dedupe ON \(key.table)(\(columns))",
                """
                DELETE FROM \(key.table) AS later WHERE EXISTS (
                    SELECT 1 FROM \(key.table) AS earlier WHERE \(same) AND earlier.\(row) < later.\(row))
                """,
                "DROP INDEX \(key.index)_dedupe",
                "CREATE UNIQUE INDEX \(key.index) ON \(key.table)(\(columns))",
            ]
        })
    }

    /// Version 17: several servers on one database. `nodes`: each server process, its address and its
    /// heartbeat on the database's clock, and whether it takes new sessions. `live_status`: what the
    /// dashboard shows of each session a node runs, written by that node once a second so a dashboard
    /// on any node lists every node's sessions. It is derived and rewritten every second, so on
    /// PostgreSQL it is `UNLOGGED`: no write-ahead log for it, emptied after a crash, which costs a
    /// dashboard one second.
    private static func cluster(_ dialect: SQLDialect) -> (version: Int, statements: [String]) {
        let unlogged = dialect == .postgres ? "UNLOGGED " : ""
        return (17, [
            """
            CREATE TABLE nodes (
                id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL,
                draining BIGINT NOT NULL, ready BIGINT NOT NULL, sessions BIGINT NOT NULL)
            """,
            """
            CREATE \(unlogged)TABLE live_status (
                session_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, study_id TEXT NOT NULL, epoch BIGINT NOT NULL,
                status TEXT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX live_status_by_node ON live_status(node_id, updated_at)",
        ])
    }

    static var latestVersion: Int { migrations(for: .sqlite).last?.version ?? 0 }

    /// Brings the database to the latest version; refuses one written by a newer Affect.
    static func migrate(_ database: any SQLDatabase) async throws {
        try await database.transaction { transaction in
            // Servers started together on one empty database would otherwise each create the tables.
            try await transaction.serialise(on: .schema)
            try await transaction.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            // Each migration not yet recorded, in order (as GRDB's migrator tracks them by name).
            let applied = Set(try await transaction.query("SELECT version FROM schema_migrations").compactMap { $0["version"].int })
            let newest = applied.max() ?? 0
            if newest > latestVersion { throw StoreError.schemaTooNew(found: newest, supported: latestVersion) }
            for migration in migrations(for: transaction.dialect) where !applied.contains(migration.version) {
                for statement in migration.statements { try await transaction.execute(statement) }
                try await transaction.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                              [.integer(Int64(migration.version)), .integer(Clock.nowMilliseconds())])
            }
        }
    }
}

/// Wall-clock time as stored: integer milliseconds since 1970.
enum Clock {
    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
