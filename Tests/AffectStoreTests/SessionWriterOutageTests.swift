import AffectCore
@testable import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// The writer while PostgreSQL is away: batches stay pending and are tried again, the buffer is
/// bounded (the writer is then backed up and drops what comes, acknowledging none of it), and once the
/// database is back everything pending is committed and the writer takes records again.
@Suite struct SessionWriterOutageTests {
    @Test(.enabled(if: TestEnvironment.postgresURL != nil, "needs PostgreSQL (scripts/postgres)"))
    func aFullBufferBacksUpDropsAndDrainsOnceTheDatabaseIsBack() async throws {
        let database = try PrivatePostgres()
        defer { _ = try? database.run("stop") }
        let store = try await PrivacyStore.open(.postgres(url: database.url))
        let study = try await store.createStudy(PrivacyStoreTests.mediaStudy(), actor: "test")
        let (_, session) = try await PrivacyStoreTests.consentingSession(store, study: study)
        let writer = try await SessionWriter(store: store, session: session,
                                             batching: .init(maximumRecords: 5, maximumDelay: .milliseconds(50), bufferLimit: 20))
        let frames = PrivacyStoreTests.frames(60)
        var acknowledged: [MinimisedRecord] = []
        for frame in frames.prefix(10) { acknowledged += try await writer.record(frame) }
        #expect(acknowledged.count == 10, "with the database up, batches of 5 are committed as they fill")

        try database.run("pause")
        // A capture adds results without waiting for the store, and a commit runs beside it.
        var asked = 0
        for frame in frames[10..<40] where await writer.add(frame).commitDue { asked += 1 }
        #expect(asked == 1, "one commit is asked for until it starts")
        let stalled = Task { try await writer.flushIfDue() }
        #expect(await writer.isBackedUp, "20 records wait: the buffer is full")
        #expect(await writer.recordsDropped == 10, "the ten records that came after it filled are dropped")
        #expect(acknowledged.count == 10, "nothing is acknowledged while the database is away")

        try await Task.sleep(for: .seconds(2))
        try database.run("resume")
        acknowledged += try await stalled.value
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while await writer.isBackedUp, ContinuousClock.now < deadline {
            acknowledged += try await writer.flushIfDue()
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await !writer.isBackedUp, "the buffer drains once the database answers")
        for frame in frames[40...] { acknowledged += try await writer.record(frame) }
        acknowledged += try await writer.finish(actor: "test")
        let stored = try await store.results(session: session.id)
        #expect(acknowledged.count == 50 && stored.count == 50, "\(acknowledged.count) acknowledged, \(stored.count) stored")
        #expect(Set(acknowledged.map(\.timeForTest)) == Set(stored.map(\.timeForTest)), "what was acknowledged is what is stored")
        try await store.close()
    }
}

extension MinimisedRecord {
    /// The media time a record is keyed by, for comparing what was acknowledged with what is stored.
    var timeForTest: Double? {
        switch self {
        case .face(let row): row.timeMilliseconds
        case .noFace(let row): row.timeMilliseconds
        case .group(let row): row.timeMilliseconds
        case .window(let row): row.startMilliseconds
        case .moment(let moment): moment.onsetMilliseconds
        }
    }
}
