import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// P8: three `affect serve` nodes on one PostgreSQL over TCP, HAProxy in front (deploy/haproxy.cfg),
/// pages speaking the participant page's protocol with real frames.
@Suite(.serialized) struct ClusterTests {
    typealias Server = CrashRecoveryTests.Server
    typealias Page = CrashRecoveryTests.Page

    static let haproxy: String? = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var ready: Bool {
        let ready = CrashRecoveryTests.ready && TestEnvironment.postgresURL != nil && haproxy != nil
        if !ready {
            FileHandle.standardError.write(Data("SKIPPED ClusterTests: needs models, shared data, PostgreSQL and haproxy (scripts/bootstrap)\n".utf8))
        }
        return ready
    }

    /// The HTTP status and body of a request, with the token.
    static func request(_ url: String, method: String = "GET", token: String? = nil, body: Data? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 15
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    struct LiveSnapshot: Decodable {
        struct Session: Decodable {
            var status: Status
        }
        struct Status: Decodable {
            var session: String
            var state: String
            var node: String?
            var recordsWritten: Int

            enum CodingKeys: String, CodingKey {
                case session, state, node
                case recordsWritten = "records_written"
            }
        }
        struct Audience: Decodable {
            var stimulus: String?
            var points: [AudienceBin]
        }
        var sessions: [Session]
        var audiences: [Audience]
    }

    /// Decoded with a plain decoder: `AudienceBin` names its keys (`t_ms`), which a snake_case strategy
    /// would rename before matching.
    struct Results: Decodable {
        var bins: [AudienceBin]
    }

    static func live(_ url: String, token: String) async throws -> LiveSnapshot {
        let (status, data) = try await request(url + "/api/v1/live", token: token)
        try #require(status == 200, "GET /api/v1/live: \(status)")
        return try JSONDecoder().decode(LiveSnapshot.self, from: data)
    }

    /// A dashboard on node C lists the sessions running on A and B within 2 s and draws the results
    /// API's audience timeline; a withdrawal sent to B stops the capture on A within 500 ms.
    @Test(.enabled(if: ready))
    func aDashboardOnAnyNodeSeesEveryNodeAndAWithdrawalAnywhereStopsTheCapture() async throws {
        let (database, directory) = try Self.privateDatabase()
        defer { Self.remove(database, directory) }
        let url = database.url
        let store = try await PrivacyStore.open(.postgres(url: url))
        let token = try await store.createToken(name: "admin", role: .admin, actor: "test").secret
        let study = try await store.createStudy(
            StudyDefinition(name: "Premiere", purpose: "Which scenes hold the audience", context: .mediaResearch, kAnonymity: 2),
            actor: "test")
        var links: [String] = []
        for _ in 0..<5 {
            let (_, secret) = try await store.createInvitation(study: study.id, hours: 1, actor: "test")
            _ = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [], segment: nil)
            links.append(secret)
        }
        // Started together on the migrated database, as a deployment rolls them out.
        let nodes = try await Self.nodes(database: url, directory: directory)
        defer { for node in nodes { node.stop() } }
        try #require(nodes.count == 3 && nodes.allSatisfy { !$0.url.isEmpty }, "three nodes come up")
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])

        // Two pages on A and two on B, 3 s of frames each.
        let pages = (0..<4).map { _ in Page() }
        let secrets = links
        let startedAt = ContinuousClock.now
        let (readyAt, seenOnC) = try await withThrowingTaskGroup(of: Void.self) { group in
            var readyAt: [String: ContinuousClock.Instant] = [:]
            var seenOnC: [String: ContinuousClock.Instant] = [:]
            for (index, page) in pages.enumerated() {
                let node = index < 2 ? a : b
                group.addTask {
                    try await CrashRecoveryTests.watch(url: node.url, secret: secrets[index], page: page, from: 0, count: 30, end: true)
                }
            }
            // The dashboard on C, polled as fast as a person would notice.
            while seenOnC.count < 4 && startedAt.duration(to: .now) < .seconds(60) {
                for page in pages { if let id = page.sessionID, readyAt[id] == nil { readyAt[id] = .now } }
                for status in try await Self.live(c.url, token: token).sessions.map(\.status)
                where readyAt[status.session] != nil && seenOnC[status.session] == nil {
                    seenOnC[status.session] = .now
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await group.waitForAll()
            return (readyAt, seenOnC)
        }
        let delays = readyAt.compactMap { id, ready in seenOnC[id].map { ready.duration(to: $0) } }.sorted()
        FileHandle.standardError.write(Data("cluster: sessions on A and B listed by C after \(delays)\n".utf8))
        #expect(delays.count == 4, "C lists all four sessions")
        #expect((delays.last ?? .seconds(99)) <= .seconds(2), "each within 2 s: \(delays)")
        let onC = try await Self.live(c.url, token: token)
        #expect(Set(onC.sessions.compactMap(\.status.node)).count == 2, "C shows them run by two other nodes")

        // Once the four have ended, C's audience timeline is the results API's.
        let (status, data) = try await Self.request(c.url + "/api/v1/studies/\(study.id)/results", token: token)
        try #require(status == 200)
        let results = try JSONDecoder().decode(Results.self, from: data)
        var feed: [AudienceBin] = []
        let settle = ContinuousClock.now
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            let snapshot = try await Self.live(c.url, token: token)
            feed = snapshot.audiences.first { $0.stimulus == nil }?.points.filter { $0.n >= 2 } ?? []
        } while !Self.same(feed, results.bins) && settle.duration(to: .now) < .seconds(5)
        #expect(!results.bins.isEmpty && Self.same(feed, results.bins),
                "C's live audience (bins of 2 or more) equals the results API's: \(feed.count) and \(results.bins.count) bins")

        // A withdrawal sent to B stops the capture running on A.
        let withdrawing = Page()
        async let capture: Void = CrashRecoveryTests.watch(url: a.url, secret: secrets[4], page: withdrawing, from: 0, count: 300, end: false)
        let waiting = ContinuousClock.now
        while withdrawing.stored.count < 3 && waiting.duration(to: .now) < .seconds(30) { try await Task.sleep(for: .milliseconds(20)) }
        let withdrawnID = try #require(withdrawing.sessionID)
        let sent = ContinuousClock.now
        let (withdrawn, _) = try await Self.request(b.url + "/p/\(secrets[4])/withdraw", method: "POST")
        #expect(withdrawn == 200)
        // The page's connection ends when A stops the capture: with its close (1000), or with the
        // error of a frame it was still sending into the closing socket.
        var ending = "closed"
        do { try await capture } catch { ending = "\(error)" }
        let stoppedAfter = withdrawing.closedAt.map { sent.duration(to: $0) } ?? sent.duration(to: .now)
        FileHandle.standardError.write(Data("cluster: withdrawal on B stopped the capture on A after \(stoppedAfter) (\(ending))\n".utf8))
        #expect(withdrawing.closeCode == .normalClosure || withdrawing.closeCode == nil, "closed as withdrawn: \(ending)")
        #expect(stoppedAfter <= .milliseconds(500), "within 500 ms: \(stoppedAfter)")
        #expect(withdrawing.stored.count < 100, "the page did not send its 300 frames to the end")
        try await Task.sleep(for: .milliseconds(1500))
        for node in nodes {
            let listed = try await Self.live(node.url, token: token).sessions.map(\.status.session)
            #expect(!listed.contains(withdrawnID), "gone from every dashboard")
        }
        // A stimulus uploaded through A is played from B: the nodes share one stimuli folder, and B
        // checks the file against the SHA-256 A recorded.
        let video = Data([0x1A, 0x45, 0xDF, 0xA3]) + Data((0..<50_000).map { UInt8($0 % 251) })
        let (uploaded, stimulusBody) = try await Self.request(
            a.url + "/api/v1/studies/\(study.id)/stimuli/upload?name=Teaser&variant=A", method: "POST", token: token, body: video)
        #expect(uploaded == 201, "\(String(decoding: stimulusBody, as: UTF8.self))")
        let stimulusID = try #require((try? JSONSerialization.jsonObject(with: stimulusBody) as? [String: Any])?["id"] as? String)
        let (_, viewer) = try await store.createInvitation(study: study.id, stimulus: stimulusID, hours: 1, actor: "test")
        _ = try await store.consent(throughInvitation: viewer, purposes: [Consent.analysisPurpose], excludedEmotions: [], segment: nil)
        let (played, playedBody) = try await Self.request(b.url + "/p/\(viewer)/stimulus")
        #expect(played == 200 && playedBody == video, "B plays the file A received")

        // Any node lists the three, ready, each with its address.
        let (listed, body) = try await Self.request(c.url + "/api/v1/nodes", token: token)
        let nodeList = (try? JSONSerialization.jsonObject(with: body) as? [[String: Any]]) ?? []
        #expect(listed == 200 && nodeList.count == 3, "\(listed) \(String(decoding: body, as: UTF8.self))")
        #expect(Set(nodeList.compactMap { $0["address"] as? String }) == Set(nodes.map(\.url)))
        #expect(nodeList.allSatisfy { $0["ready"] as? Bool == true && $0["draining"] as? Bool == false })
        try await store.close()
    }

    /// HAProxy with deploy/haproxy.cfg in front of three nodes, on a free port of 127.0.0.1.
    final class Balancer: @unchecked Sendable {
        // Touched only by the test's own task.
        let process = Process()
        let url: String

        init(nodes: [Server]) throws {
            var port = 0
            for _ in 0..<20 {
                port = Int.random(in: 20_000...40_000)
                process.executableURL = URL(fileURLWithPath: try #require(ClusterTests.haproxy))
                process.arguments = ["-f", TestEnvironment.packageRoot.appendingPathComponent("deploy/haproxy.cfg").path, "-db"]
                var environment = ProcessInfo.processInfo.environment
                environment["AFFECT_LISTEN"] = "127.0.0.1:\(port)"
                for (name, node) in zip(["A", "B", "C"], nodes) { environment["AFFECT_NODE_\(name)"] = "127.0.0.1:\(node.port)" }
                process.environment = environment
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                Thread.sleep(forTimeInterval: 0.3)
                if process.isRunning { break }
            }
            url = "http://127.0.0.1:\(port)"
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }

        deinit {
            if process.isRunning { process.terminate() }
        }
    }

    /// A study with `count` consented links, and an admin token, on a migrated database.
    static func study(_ store: PrivacyStore, links count: Int) async throws -> (study: String, links: [String]) {
        let study = try await store.createStudy(
            StudyDefinition(name: "Panel", purpose: "Which scenes hold the audience", context: .mediaResearch), actor: "test")
        var links: [String] = []
        for _ in 0..<count {
            let (_, secret) = try await store.createInvitation(study: study.id, hours: 1, actor: "test")
            _ = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [], segment: nil)
            links.append(secret)
        }
        return (study.id, links)
    }

    /// A PostgreSQL of the test's own on a TCP port of 127.0.0.1, as nodes on other machines would
    /// reach it, and a directory for the nodes (their shared stimuli folder).
    static func privateDatabase() throws -> (PrivatePostgres, URL) {
        (try PrivatePostgres(tcp: true), try TestEnvironment.temporaryDirectory())
    }

    static func remove(_ database: PrivatePostgres, _ directory: URL) {
        try? database.run("stop")
        try? FileManager.default.removeItem(at: directory)
    }

    /// Three nodes on `url`, started together.
    static func nodes(database url: String, directory: URL) async throws -> [Server] {
        try await withThrowingTaskGroup(of: (Int, Server).self) { group in
            for index in 0..<3 { group.addTask { (index, try Server(database: url, data: directory, port: 0)) } }
            return try await group.reduce(into: [Server?](repeating: nil, count: 3)) { $0[$1.0] = $1.1 }.compactMap { $0 }
        }
    }

    /// How many of the pages' sessions each node ran last, by the node's URL (from what the nodes published).
    static func nodesRunning(_ pages: [ResumingPage], store: PrivacyStore) async throws -> [String: Int] {
        let addresses = Dictionary(uniqueKeysWithValues: try await store.nodes().map { ($0.id, $0.address) })
        let published = try await store.publishedStatuses(otherThan: "")
        let sessions = Set(pages.flatMap(\.sessions))
        var counts: [String: Int] = [:]
        for status in published where sessions.contains(status.session) {
            counts[addresses[status.node] ?? status.node, default: 0] += 1
        }
        return counts
    }

    /// Every acknowledged record stored, none twice; returns the stored face and no-face times per session.
    static func checkStored(_ pages: [ResumingPage], store: PrivacyStore) async throws {
        for page in pages {
            #expect(page.sessions.count == 1, "one session per page, resumed: \(page.sessions) \(page.closes)")
            guard let session = page.sessions.first else { continue }
            let times = try await store.results(session: session).compactMap { record -> Double? in
                switch record {
                case .face(let row): row.timeMilliseconds
                case .noFace(let row): row.timeMilliseconds
                default: nil
                }
            }
            let missing = Set(page.acknowledged).subtracting(times)
            #expect(missing.isEmpty, "acknowledged but not stored: \(missing.sorted().prefix(5))")
            #expect(Set(times).count == times.count, "stored twice: \(times.count - Set(times).count) records")
        }
    }

    /// What a cluster test gets: a database with a study of consented links, three nodes on it and
    /// HAProxy in front.
    struct Cluster {
        var url: String
        var store: PrivacyStore
        var links: [String]
        var nodes: [Server]
        var balancer: Balancer
    }

    /// Sets a cluster up, runs `body`, and stops it all.
    static func withCluster(links count: Int, _ body: (Cluster) async throws -> Void) async throws {
        let (database, directory) = try privateDatabase()
        defer { remove(database, directory) }
        let url = database.url
        let store = try await PrivacyStore.open(.postgres(url: url))
        let (_, links) = try await study(store, links: count)
        let nodes = try await Self.nodes(database: url, directory: directory)
        defer { for node in nodes { node.stop() } }
        try #require(nodes.count == 3 && nodes.allSatisfy { !$0.url.isEmpty }, "three nodes come up")
        let balancer = try Balancer(nodes: nodes)
        defer { balancer.stop() }
        try await body(Cluster(url: url, store: store, links: links, nodes: nodes, balancer: balancer))
        try await store.close()
    }

    /// Runs the pages, first on `node` (as if the balancer's hash had put them all there), coming back
    /// through the balancer; once each has two records stored, `interrupt` (a kill, a drain) runs.
    /// Returns when it ran and what it returned, once every page is done.
    static func run<T: Sendable>(_ pages: [ResumingPage], on node: Server, balancer: Balancer, for duration: Duration,
                                 interrupt: @escaping @Sendable () -> T) async throws -> (at: ContinuousClock.Instant, result: T) {
        let jpeg = try #require(CrashRecoveryTests.frame)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for page in pages {
                group.addTask { await page.run(firstURL: node.url, reconnectURL: balancer.url, duration: duration, jpeg: jpeg) }
            }
            let waiting = ContinuousClock.now
            while pages.contains(where: { $0.acknowledged.count < 2 }) && waiting.duration(to: .now) < .seconds(60) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let at = ContinuousClock.now
            let result = interrupt()
            try await group.waitForAll()
            return (at, result)
        }
    }

    /// `kill -9` of a node running 30 sessions: their pages resume on the other nodes through the
    /// balancer, nothing acknowledged is lost or doubled, and the audit chain holds.
    @Test(.enabled(if: ready))
    func pagesOfAKilledNodeResumeOnTheOthersAndNothingIsLostOrDoubled() async throws {
        try await Self.withCluster(links: 30) { cluster in
            let pages = cluster.links.map(ResumingPage.init(secret:))
            let victim = cluster.nodes[0]
            let (killedAt, _) = try await Self.run(pages, on: victim, balancer: cluster.balancer, for: .seconds(16)) { victim.kill() }
            let delays = pages.compactMap { $0.resumeDelay(after: killedAt) }.sorted()
            let p95 = delays.isEmpty ? nil : delays[min(delays.count - 1, Int((Double(delays.count) * 0.95).rounded(.up)) - 1)]
            let servedBy = try await Self.nodesRunning(pages, store: cluster.store)
            FileHandle.standardError.write(Data("""
                cluster: kill -9 of a node with 30 sessions: \(delays.count) pages resumed; median \(delays.isEmpty ? "-" : "\(delays[delays.count / 2])"), \
                p95 \(p95.map { "\($0)" } ?? "-"), max \(delays.last.map { "\($0)" } ?? "-"); resumed sessions per node: \(servedBy)

                """.utf8))
            #expect(delays.count == 30, "every page resumed")
            #expect((p95 ?? .seconds(99)) <= .seconds(5), "p95 within 5 s: \(delays)")
            #expect(servedBy[victim.url] == nil && servedBy.values.reduce(0, +) == 30, "resumed on the other nodes: \(servedBy)")
            try await Self.checkStored(pages, store: cluster.store)
            for node in cluster.nodes { node.stop() }
            let audit = try CommandRunner.affect(["audit", "verify", "--db", cluster.url])
            #expect(audit.status == 0, "\(audit.stdout) \(audit.stderr)")
        }
    }

    /// SIGTERM drains a node: `/readyz` fails, its pages are closed with 1012 after their pending
    /// results are written, they resume on the other nodes, and the node leaves the node list.
    @Test(.enabled(if: ready))
    func aDrainingNodeHandsItsPagesToTheOthers() async throws {
        try await Self.withCluster(links: 6) { cluster in
            let pages = cluster.links.map(ResumingPage.init(secret:))
            let draining = cluster.nodes[1]
            let (drainedAt, exited) = try await Self.run(pages, on: draining, balancer: cluster.balancer, for: .seconds(10)) {
                draining.stopGracefully()
            }
            #expect(exited, "the node exits by itself once drained")
            let delays = pages.compactMap { $0.resumeDelay(after: drainedAt) }.sorted()
            FileHandle.standardError.write(Data("cluster: drain of a node with 6 sessions: resumed after \(delays); closes \(pages.map(\.closes))\n".utf8))
            #expect(delays.count == 6, "every page resumed")
            #expect(pages.allSatisfy { $0.closes.first?.contains("1012") ?? false }, "told to reconnect: \(pages.map(\.closes))")
            let servedBy = try await Self.nodesRunning(pages, store: cluster.store)
            #expect(servedBy[draining.url] == nil && servedBy.values.reduce(0, +) == 6, "resumed on the other nodes: \(servedBy)")
            try await Self.checkStored(pages, store: cluster.store)
            #expect(try await cluster.store.nodes().count == 2, "the drained node left the list")
        }
    }

    /// Bins equal in time, count and every mean (to rounding).
    static func same(_ left: [AudienceBin], _ right: [AudienceBin]) -> Bool {
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { one, other in
            guard one.timeMilliseconds == other.timeMilliseconds, one.n == other.n,
                  one.expressions.count == other.expressions.count else { return false }
            return zip(one.expressions, other.expressions).allSatisfy { first, second in
                switch (first, second) {
                case (nil, nil): true
                case (let x?, let y?): abs(x.mean - y.mean) < 1e-9
                default: false
                }
            }
        }
    }
}
