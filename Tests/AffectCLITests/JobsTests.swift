import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// P8: recorded videos queued as jobs and analysed by `affect worker` processes on one PostgreSQL;
/// a worker killed mid-job leaves its job to the others, and every job is done exactly once.
@Suite(.serialized) struct JobsTests {
    static var ready: Bool { CrashRecoveryTests.ready && TestEnvironment.postgresURL != nil }

    @Test(.enabled(if: ready))
    func twoHundredJobsOnThreeWorkersWithOneKilledAreEachDoneOnce() async throws {
        let database = try TestDatabase.make(.postgres)
        defer { database.drop() }
        guard case .postgres(let url) = database.location else { return }
        // A one-second clip keeps 200 jobs short: cut from the evaluation data into the test's own
        // directory (removed with it).
        let clip = database.directory.appendingPathComponent("clip.mp4").path
        let cut = try CommandRunner.shell(
            "ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4"))' -t 1 -an -c copy '\(clip)'")
        try #require(cut.status == 0, "\(cut.stderr)")
        let store = try await database.open()
        let study = try await store.createStudy(
            StudyDefinition(name: "Panel recordings", purpose: "Which scenes hold the audience", context: .mediaResearch), actor: "test")
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition)), actor: "test")
        let submitted = try CommandRunner.affect(["jobs", "submit"] + Array(repeating: clip, count: 200)
            + ["--study", study.id, "--participant", participant.id, "--db", url])
        try #require(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stdoutLines.count == 200)

        let arguments = ["worker", "--db", url, "--detector", "blazeface", "--fps", "5", "--lease", "3", "--exit-when-idle"]
        let workers = try ["a", "b", "c"].map { try CommandRunner.startAffect(arguments + ["--name", "worker-\($0)"]) }
        // Killed while it holds a job, once the three have done a few. A job takes a fraction of a
        // second, so the worker may finish the job seen in one poll before the kill lands: then it
        // died holding nothing, and the next worker is tried (worker-c always survives).
        var killedHolding: String?
        var killed = 0
        let waiting = ContinuousClock.now
        while killedHolding == nil && killed < 2 && waiting.duration(to: .now) < .seconds(120) {
            let name = "worker-\(["a", "b"][killed])"
            let jobs = try await store.jobs(study: study.id)
            if jobs.filter({ $0.status == "done" }).count >= 15, jobs.contains(where: { $0.owner == name }) {
                workers[killed].kill()
                killed += 1
                // The job it held when it died stays its until taken over.
                killedHolding = try await store.jobs(study: study.id).first { $0.owner == name && $0.status == "running" }?.id
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let results = workers.dropFirst(killed).map { $0.finish() }
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        for worker in workers.prefix(killed) { _ = worker.finish() }
        guard let heldJob = killedHolding else {
            let counts = Dictionary(grouping: try await store.jobs(study: study.id), by: \.status).mapValues(\.count)
            Issue.record("no worker was killed holding a job once 15 were done (\(killed) killed); jobs: \(counts)")
            return
        }

        let jobs = try await store.jobs(study: study.id)
        #expect(jobs.count == 200 && jobs.allSatisfy { $0.status == "done" }, "every job done: \(Dictionary(grouping: jobs, by: \.status).mapValues(\.count))")
        let taken = try #require(jobs.first { $0.id == heldJob })
        #expect(taken.attempts == 2, "the killed worker's job was taken over once: \(taken.attempts)")
        let sessions = jobs.compactMap(\.sessionID)
        #expect(Set(sessions).count == 200, "one session per job")
        // The same clip every time: every job's session holds the same records, none twice.
        var shapes: Set<[Double]> = []
        for id in sessions {
            #expect(try await store.session(id).status == "completed")
            let times = try await store.results(session: id).compactMap { record -> Double? in
                switch record {
                case .face(let row): row.timeMilliseconds
                case .noFace(let row): row.timeMilliseconds
                default: nil
                }
            }
            #expect(Set(times).count == times.count, "no record stored twice in \(id)")
            shapes.insert(times.sorted())
        }
        #expect(shapes.count == 1 && (shapes.first?.count ?? 0) >= 4, "every job stored the same frames: \(shapes.map(\.count))")
        let doneLines = results.flatMap(\.stdoutLines).filter { $0.contains("\"status\":\"done\"") }
        FileHandle.standardError.write(Data("jobs: 200 done, \(doneLines.count) by the \(results.count) surviving workers; job \(heldJob) taken over after the kill\n".utf8))
        try await store.close()
        let audit = try CommandRunner.affect(["audit", "verify", "--db", url])
        #expect(audit.status == 0, "\(audit.stdout) \(audit.stderr)")
    }
}

extension JobsTests {
    /// On the embedded database too: a video that cannot be read fails its job with the reason, and
    /// the worker goes on to the next.
    @Test(.enabled(if: CrashRecoveryTests.ready))
    func anUnreadableVideoFailsItsJobAndTheWorkerGoesOn() async throws {
        let database = try TestDatabase.make(.sqlite)
        defer { database.drop() }
        guard case .sqlite(let path) = database.location else { return }
        let store = try await database.open()
        let study = try await store.createStudy(
            StudyDefinition(name: "Recordings", purpose: "Which scenes hold the audience", context: .mediaResearch), actor: "test")
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition)), actor: "test")
        try await store.close()
        let missing = database.directory.appendingPathComponent("missing.mp4").path
        let video = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")
        let submitted = try CommandRunner.affect(["jobs", "submit", missing, video, "--study", study.definition.name,
                                                  "--participant", participant.id, "--db", "sqlite:" + path])
        try #require(submitted.status == 0, "\(submitted.stderr)")
        let worked = try CommandRunner.affect(["worker", "--db", "sqlite:" + path, "--detector", "blazeface", "--fps", "2",
                                               "--exit-when-idle"])
        #expect(worked.status == 0, "\(worked.stderr)")
        #expect(worked.stdoutLines.count == 2)
        let listed = try CommandRunner.affect(["jobs", "list", "--study", study.definition.name, "--db", "sqlite:" + path])
        let jobs = listed.stdoutLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let failed = jobs.first { $0["source"] as? String == missing }
        #expect(failed?["status"] as? String == "failed" && (failed?["error"] as? String)?.isEmpty == false, "\(jobs)")
        #expect(jobs.first { $0["source"] as? String == video }?["status"] as? String == "done", "\(jobs)")
        #expect(listed.stderr.contains("0 queued, 0 running, 1 done, 1 failed"), "\(listed.stderr)")
        // A withdrawal deletes the jobs with the results: a job's row names the participant's video.
        let withdrawn = try CommandRunner.affect(["consent", "withdraw", participant.id, "--db", "sqlite:" + path])
        #expect(withdrawn.status == 0, "\(withdrawn.stderr)")
        let after = try CommandRunner.affect(["jobs", "list", "--db", "sqlite:" + path])
        #expect(after.stdout.isEmpty && after.stderr.contains("0 queued, 0 running, 0 done, 0 failed"), "\(after.stdout)")
    }
}

extension JobsTests {
    /// A worker measures faces for the jobs of a study that measures them, and only for those.
    @Test(.enabled(if: CrashRecoveryTests.ready))
    func aWorkerMeasuresFacesOnlyForStudiesThatAsk() async throws {
        let database = try TestDatabase.make(.sqlite)
        defer { database.drop() }
        guard case .sqlite(let path) = database.location else { return }
        let store = try await database.open()
        var participants: [String: String] = [:]
        for (name, measures) in [("Measured", true), ("Plain", false)] {
            let study = try await store.createStudy(
                StudyDefinition(name: name, purpose: "Which scenes hold the audience", context: .mediaResearch, measures: measures),
                actor: "test")
            let (participant, _) = try await store.recordConsent(
                .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition)), actor: "test")
            participants[name] = participant.id
        }
        try await store.close()
        let video = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")
        for (name, participant) in participants {
            let submitted = try CommandRunner.affect(["jobs", "submit", video, "--study", name, "--participant", participant,
                                                      "--db", "sqlite:" + path])
            try #require(submitted.status == 0, "\(submitted.stderr)")
        }
        let worked = try CommandRunner.affect(["worker", "--db", "sqlite:" + path, "--detector", "blazeface", "--fps", "2",
                                               "--exit-when-idle"])
        #expect(worked.status == 0, "\(worked.stderr)")
        let reopened = try await database.open()
        for (name, participant) in participants {
            let sessions = try await reopened.sessions(study: name)
            let session = try #require(sessions.first { $0.participantID == participant })
            let rows = try await reopened.results(session: session.id).compactMap { record -> FaceRow? in
                if case .face(let row) = record { return row }
                return nil
            }
            #expect(rows.count >= 10, "\(name)")
            if name == "Measured" {
                #expect(rows.filter { $0.measures != nil }.count >= rows.count - 1, "every face measured")
            } else {
                #expect(rows.allSatisfy { $0.measures == nil }, "no measures without the study's word")
            }
        }
        try await reopened.close()
    }

    /// A job whose workers keep dying (a video that crashes them) is taken five times, then fails.
    @Test(arguments: TestDatabase.Backend.available)
    func aJobWhoseWorkersKeepDyingFailsAfterFiveAttempts(_ backend: TestDatabase.Backend) async throws {
        let database = try TestDatabase.make(backend)
        defer { database.drop() }
        let store = try await database.open()
        let study = try await store.createStudy(
            StudyDefinition(name: "Recordings", purpose: "Which scenes hold the audience", context: .mediaResearch), actor: "test")
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition)), actor: "test")
        let job = try #require(try await store.submitJobs(study: study.id, participant: participant.id,
                                                          sources: ["/videos/poison.mp4"], actor: "test").first)
        var claims = 0
        // Each claim's lease runs out at once, as if its worker had died holding it.
        while let claimed = try await store.claimJob(worker: "worker-\(claims)", leaseMilliseconds: 0) {
            #expect(claimed.id == job.id)
            claims += 1
            try await Task.sleep(for: .milliseconds(5))
            if claims > 10 { break }
        }
        #expect(claims == PrivacyStore.maximumJobAttempts)
        let ended = try #require(try await store.jobs(study: study.id).first)
        #expect(ended.status == "failed" && ended.error?.contains("5 attempts") == true, "\(ended)")
        #expect(try await store.unfinishedJobs() == 0)
        try await store.close()
    }
}
