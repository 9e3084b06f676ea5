import AffectTestSupport
import Foundation
import Testing

/// Studies end to end through the `affect` binary: consent gates, modes, withdrawal, retention,
/// audit, and zero retention of frames, on SQLite and on PostgreSQL.
@Suite(.enabled(if: TestEnvironment.hasModels, "needs models from scripts/bootstrap"))
struct StudyCommandTests {
    let clip = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")

    /// A sandbox directory that is the command's working directory, HOME and TMPDIR, so anything
    /// the command writes anywhere it could write lands here and can be compared.
    struct Sandbox {
        let root: URL
        var environment: [String: String] {
            ["HOME": root.path, "TMPDIR": root.appendingPathComponent("tmp").path, "AFFECT_DB": ""]
        }
        var dataDirectory: URL { root.appendingPathComponent("affect-data") }
        var databasePath: String { dataDirectory.appendingPathComponent("affect.sqlite").path }

        init() throws {
            root = try TestEnvironment.temporaryDirectory()
            try FileManager.default.createDirectory(at: root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        }

        func affect(_ arguments: [String]) throws -> CommandResult {
            try CommandRunner.affect(arguments, environment: environment, directory: root)
        }

        /// Every file under the sandbox with its size and modification time.
        func snapshot() -> [String: String] {
            var files: [String: String] = [:]
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey]) else { return files }
            for case let url as URL in walker {
                let attributes = (try? FileManager.default.attributesOfItem(atPath: url.path)) ?? [:]
                let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                files[String(url.path.dropFirst(root.path.count))] = "\(size)@\(modified)"
            }
            return files
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func createStudy(_ sandbox: Sandbox, name: String, mode: String, extra: [String] = [], db: [String] = []) throws -> String {
        let result = try sandbox.affect(["study", "create", "--name", name, "--purpose", "Which cut holds attention",
                                         "--context", "media-research", "--mode", mode] + extra + db)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try json(result.stdout)["id"] as? String)
    }

    func enrol(_ sandbox: Sandbox, study: String, db: [String] = []) throws -> String {
        let result = try sandbox.affect(["consent", "record", "--study", study] + db)
        #expect(result.status == 0, "\(result.stderr)")
        let participant = try #require(try json(result.stdout)["participant"] as? [String: Any])
        return try #require(participant["id"] as? String)
    }

    /// SQL through Debian's Python (sqlite3 module) for SQLite, psql for PostgreSQL.
    static func sqlite(_ path: String, _ sql: String) throws -> String {
        let script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r)"
        let result = try CommandRunner.shell("/usr/bin/python3 -c '\(script)' '\(path)' \"\(sql)\"")
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func jpegOrPNGSignature(in data: Data) -> Bool {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF], png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return data.range(of: Data(jpeg)) != nil || data.range(of: Data(png)) != nil
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"), arguments: ["individual", "aggregate", "group"])
    func sessionsKeepNoFramesAndOnlyWhatTheModeAllows(mode: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Trailer \(mode)", mode: mode)
        let participant = try enrol(sandbox, study: study)
        let before = sandbox.snapshot()
        let result = try sandbox.affect(["analyze", clip, "--study", study, "--participant", participant, "--track"])
        #expect(result.status == 0, "\(result.stderr)")
        let session = try json(result.stdout)
        #expect(session["mode"] as? String == mode)
        #expect((session["frames_analysed"] as? Int ?? 0) >= 30)

        // Nothing written outside the data directory; inside it only the database file.
        let after = sandbox.snapshot()
        let changed = Set(after.keys).union(before.keys).filter { before[$0] != after[$0] }
        #expect(changed.allSatisfy { $0.hasPrefix("/affect-data") }, "written outside the data directory: \(changed.sorted())")
        let files = try FileManager.default.contentsOfDirectory(atPath: sandbox.dataDirectory.path)
        #expect(files == ["affect.sqlite"], "\(files)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: sandbox.databasePath))
        #expect(!Self.jpegOrPNGSignature(in: bytes), "an image signature in the database file")

        let path = sandbox.databasePath
        let blobs = try Self.sqlite(path, """
            SELECT (SELECT COUNT(*) FROM face_results WHERE typeof(angry)='blob') + \
            (SELECT COUNT(*) FROM audit_events WHERE length(details) > 4096)
            """)
        #expect(blobs == "[(0,)]")
        let faceRows = try Self.sqlite(path, "SELECT COUNT(*) FROM face_results")
        let groupRows = try Self.sqlite(path, "SELECT COUNT(*), COUNT(DISTINCT faces) FROM group_frames")
        let windows = try Self.sqlite(path, "SELECT COUNT(*) FROM window_aggregates")
        switch mode {
        case "individual":
            #expect(faceRows != "[(0,)]")
            #expect(try Self.sqlite(path, "SELECT COUNT(track) = COUNT(*) FROM face_results") == "[(1,)]")
        case "aggregate":
            #expect(faceRows == "[(0,)]" && groupRows.hasPrefix("[(0,") && windows == "[(1,)]", "8 s clip: one 10 s window")
        default:
            #expect(faceRows == "[(0,)]" && windows == "[(0,)]" && !groupRows.hasPrefix("[(0,"))
        }
        let verify = try sandbox.affect(["audit", "verify"])
        #expect(verify.status == 0 && verify.stdout.contains("intact"))
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func withoutConsentNothingIsProcessedOrStored() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Ad test", mode: "individual")
        let participant = try enrol(sandbox, study: study)
        #expect(try sandbox.affect(["consent", "withdraw", participant]).status == 0)
        let refused = try sandbox.affect(["analyze", clip, "--study", study, "--participant", participant])
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(refused.stderr.contains("no valid consent (withdrawn)") && refused.stdout.isEmpty)
        let unknown = try sandbox.affect(["analyze", clip, "--study", study, "--participant", "p_00000000000000aa"])
        #expect(unknown.status == 66 && unknown.stderr.contains("no participant p_00000000000000aa"))
        let malformed = try sandbox.affect(["analyze", clip, "--study", study, "--participant", "bob"])
        #expect(malformed.status == 65 && malformed.stderr == "affect: 'bob' is not a participant id\n")
        #expect(try Self.sqlite(sandbox.databasePath, "SELECT COUNT(*) FROM sessions") == "[(0,)]")
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func withdrawalMidSessionStopsProcessingAndDeletesResults() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Lesson clip", mode: "individual")
        let participant = try enrol(sandbox, study: study)
        // A live source that sends a face ten times a second until the analysis stops reading it (Motion
        // JPEG on stdin), so the withdrawal always comes while it runs, however loaded the machine.
        let face = TestEnvironment.data("fer-fixtures/images/justin.jpg")
        let exports = sandbox.environment.map { "export \($0.key)='\($0.value)'" }.joined(separator: "; ")
        let running = try CommandRunner.startShell("""
            \(exports); cd '\(sandbox.root.path)'
            while cat '\(face)'; do sleep 0.1; done | "$AFFECT" analyze - --study \(study) --participant \(participant)
            """)
        var rows = 0
        for _ in 0..<100 where rows < 3 {
            Thread.sleep(forTimeInterval: 0.1)
            rows = Int(try Self.sqlite(sandbox.databasePath, "SELECT COUNT(*) FROM face_results")
                .trimmingCharacters(in: CharacterSet(charactersIn: "[](),"))) ?? 0
        }
        #expect(rows >= 3, "results were being stored")
        let withdrawal = try sandbox.affect(["consent", "withdraw", participant])
        #expect(withdrawal.status == 0, "\(withdrawal.stderr)")
        let stopped = running.finish()
        #expect(stopped.status == 77, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("withdrawn"))
        #expect(try Self.sqlite(sandbox.databasePath, "SELECT COUNT(*) FROM face_results") == "[(0,)]")
        #expect(try Self.sqlite(sandbox.databasePath, "SELECT COUNT(*) FROM sessions") == "[(0,)]")
        let audit = try sandbox.affect(["audit", "list"])
        #expect(audit.stdout.contains("\"action\":\"consent.withdraw\""))
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func purgeDeletesDataPastItsRetention() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Short-lived", mode: "group", extra: ["--retention", "2"])
        let participant = try enrol(sandbox, study: study)
        #expect(try sandbox.affect(["analyze", clip, "--study", study, "--participant", participant, "--fps", "2"]).status == 0)
        let now = try json(try sandbox.affect(["purge"]).stdout)
        #expect(now["sessions_deleted"] as? Int == 0)
        let formatter = ISO8601DateFormatter()
        let later = try json(try sandbox.affect(["purge", "--as-of", formatter.string(from: Date().addingTimeInterval(3 * 86_400))]).stdout)
        #expect(later["sessions_deleted"] as? Int == 1)
        #expect(try Self.sqlite(sandbox.databasePath, "SELECT COUNT(*) FROM group_frames") == "[(0,)]")
        let export = try json(try sandbox.affect(["subject", "export", participant]).stdout)
        #expect((export["sessions"] as? [Any])?.isEmpty == true, "reads return nothing")
        #expect(try sandbox.affect(["purge", "--as-of", "next week"]).status == 64)
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func sessionsRecordTheStimulusVariantAndSegments() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "A/B", mode: "aggregate")
        // A server path is never a stimulus (P6): a web address, or a video copied into the data directory.
        for source in ["b.mp4", "/etc/passwd", "file:///etc/passwd"] {
            let refused = try sandbox.affect(["stimulus", "add", "--study", study, "--name", "Cut", "--variant", "B", "--source", source])
            #expect(refused.status == 64 && refused.stderr.contains("http:// or https://"), "\(source): \(refused.stderr)")
        }
        let notVideo = try sandbox.affect(["stimulus", "add", "--study", study, "--name", "Cut", "--variant", "B", "--file", "/etc/passwd"])
        #expect(notVideo.status == 64 && notVideo.stderr.contains("MP4 or WebM"), "\(notVideo.stderr)")
        let web = try sandbox.affect(["stimulus", "add", "--study", study, "--name", "Cut", "--variant", "A",
                                      "--source", "https://cdn.example/cut-a.mp4"])
        #expect(web.status == 0 && web.stdout.contains("https://cdn.example/cut-a.mp4"), "\(web.stderr)")
        let added = try sandbox.affect(["stimulus", "add", "--study", study, "--name", "Cut", "--variant", "B", "--file", clip])
        #expect(added.status == 0, "\(added.stderr)")
        let stimulus = try #require(try json(added.stdout)["id"] as? String)
        let kept = try #require((try json(added.stdout)["source"] as? String)?.dropFirst("upload:".count))
        #expect(FileManager.default.contentsEqual(atPath: sandbox.dataDirectory.appendingPathComponent("stimuli/\(kept)").path,
                                                  andPath: clip), "the video is copied into the data directory")
        let consent = try sandbox.affect(["consent", "record", "--study", study, "--segment", "age=25-34,region=EU"])
        #expect(consent.status == 0, "\(consent.stderr)")
        let participant = try #require((try json(consent.stdout)["participant"] as? [String: Any])?["id"] as? String)
        #expect(consent.stdout.contains("segment-attributes"))
        let run = try sandbox.affect(["analyze", clip, "--study", study, "--participant", participant, "--stimulus", stimulus,
                                      "--fps", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let export = try sandbox.affect(["subject", "export", participant])
        #expect(export.stdout.contains("\"stimulus_id\" : \"\(stimulus)\""), "\(export.stdout.prefix(400))")
        #expect(export.stdout.contains("\"region\" : \"EU\""))
        let wrong = try sandbox.affect(["analyze", clip, "--study", study, "--participant", participant, "--stimulus", "sm_0000000000000001"])
        #expect(wrong.status == 66 && wrong.stderr.contains("no stimulus sm_0000000000000001"))
        #expect(try sandbox.affect(["consent", "record", "--study", study, "--segment", "nonsense"]).status == 64)
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func aStreamThatStallsStillClosesItsSession() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Stall", mode: "individual")
        let participant = try enrol(sandbox, study: study)
        let result = try CommandRunner.shell("""
            (ffmpeg -nostdin -loglevel error -i '\(clip)' -t 1 -f yuv4mpegpipe -pix_fmt yuv420p -; sleep 5) | \
              "$AFFECT" analyze - --timeout 2 --detector blazeface --study \(study) --participant \(participant) \
              --db 'sqlite:\(sandbox.databasePath)'
            """)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(try Self.sqlite(sandbox.databasePath, "SELECT status, COUNT(*) > 0 FROM sessions JOIN face_results ON session_id = id")
                    == "[('completed', 1)]", "results kept, session closed")
    }

    @Test func editingAnAuditRowIsDetectedAndNamed() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Audit", mode: "aggregate")
        _ = try enrol(sandbox, study: study)
        _ = try enrol(sandbox, study: study)
        let intact = try sandbox.affect(["audit", "verify"])
        #expect(intact.status == 0)
        let head = try #require(intact.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        _ = try enrol(sandbox, study: study)
        #expect(try sandbox.affect(["audit", "verify", "--includes", head]).status == 0, "later events are fine")
        _ = try Self.sqlite(sandbox.databasePath, "DELETE FROM audit_events WHERE seq >= 3")
        #expect(try sandbox.affect(["audit", "verify"]).status == 0, "a cut tail is invisible to the chain alone")
        let cut = try sandbox.affect(["audit", "verify", "--includes", head])
        #expect(cut.status == 65 && cut.stderr.contains("events were removed from its end"), "\(cut.stderr)")
        _ = try Self.sqlite(sandbox.databasePath, "UPDATE audit_events SET details = '{}' WHERE seq = 2")
        let broken = try sandbox.affect(["audit", "verify"])
        #expect(broken.status == 65)
        #expect(broken.stderr == "affect: audit chain broken at event 2: its content does not match its hash (edited)\n")
    }

    @Test func prohibitedStudiesAreRefusedBeforeAnythingIsStored() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        for context in ["workplace", "education"] {
            let refused = try sandbox.affect(["study", "create", "--name", "Mood", "--purpose", "productivity", "--context", context])
            #expect(refused.status == 65)
            #expect(refused.stderr.contains("prohibited by EU AI Act Art. 5(1)(f)"))
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.dataDirectory.path), "nothing created")
        let exempt = try sandbox.affect(["study", "create", "--name", "Fatigue", "--purpose", "driver drowsiness",
                                         "--context", "workplace", "--exemption", "safety"])
        #expect(exempt.status == 0, "\(exempt.stderr)")
        #expect(try json(exempt.stdout)["definition"].flatMap { ($0 as? [String: Any])?["exemption"] as? String } == "safety")
        #expect(try sandbox.affect(["study", "show", "nope"]).status == 66)
        #expect(try sandbox.affect(["study", "list", "--db", "mysql://x"]).status == 64)
        let locked = try sandbox.affect(["study", "list", "--db", "sqlite:/proc/nope/affect.sqlite"])
        #expect(locked.status == 69 && locked.stderr.split(separator: "\n").count == 1, "\(locked.stderr)")
    }

    @Test func aLockedDatabaseGivesAClearErrorAndKeepsItsData() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let study = try createStudy(sandbox, name: "Locked", mode: "group")
        // Another process holds an exclusive lock for longer than the 5 s busy timeout.
        let holder = "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); "
            + "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(8); c.execute('ROLLBACK')"
        let lock = try CommandRunner.startShell("/usr/bin/python3 -c \"\(holder)\" '\(sandbox.databasePath)'")
        Thread.sleep(forTimeInterval: 1)
        let blocked = try sandbox.affect(["consent", "record", "--study", study])
        #expect(blocked.status == 69, "\(blocked.stderr)")
        #expect(blocked.stderr == "affect: affect-data/affect.sqlite: database is locked by another process (tried for 5 s)\n")
        _ = lock.finish()
        let after = try sandbox.affect(["study", "show", study])
        #expect(after.status == 0 && after.stdout.contains(study), "data intact once the lock is gone")
        #expect(try Self.sqlite(sandbox.databasePath, "SELECT COUNT(*) FROM participants") == "[(0,)]")
    }

    /// The same session on PostgreSQL, in a database of its own.
    @Test(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.postgresURL != nil, "needs ../shared/data and PostgreSQL"))
    func postgresSessionStoresOnlyAggregates() throws {
        let base = try #require(TestEnvironment.postgresURL)
        let name = "affect_cli_\(UInt32.random(in: 0...UInt32.max))"
        #expect(try CommandRunner.shell("psql '\(base)' -qc 'CREATE DATABASE \(name)'").status == 0)
        defer { _ = try? CommandRunner.shell("psql '\(base)' -qc 'DROP DATABASE \(name)'") }
        let url = base.replacingOccurrences(of: "/affect_test?", with: "/\(name)?")
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let db = ["--db", url]
        let study = try createStudy(sandbox, name: "PG", mode: "aggregate", db: db)
        let participant = try enrol(sandbox, study: study, db: db)
        let result = try sandbox.affect(["analyze", clip, "--study", study, "--participant", participant] + db)
        #expect(result.status == 0, "\(result.stderr)")
        let counts = try CommandRunner.shell("""
            psql '\(url)' -tAc "SELECT (SELECT COUNT(*) FROM face_results), (SELECT COUNT(*) FROM group_frames), \
            (SELECT COUNT(*) FROM window_aggregates), (SELECT COUNT(*) FROM information_schema.columns \
            WHERE table_schema = 'public' AND data_type = 'bytea')"
            """)
        #expect(counts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0|0|1|0", "\(counts.stdout) \(counts.stderr)")
        #expect(try sandbox.affect(["audit", "verify"] + db).status == 0)
        #expect(!FileManager.default.fileExists(atPath: sandbox.dataDirectory.path), "nothing written locally")
    }
}
