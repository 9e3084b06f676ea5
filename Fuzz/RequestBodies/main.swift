import AffectCore
// The router is built as the server builds it (debug builds are testable, and fuzz builds are debug).
@testable import AffectServer
import AffectPipeline
import AffectStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import FuzzDriver

/// libFuzzer entry point for the JSON request bodies: each input is one body, sent to one of the
/// routes that take JSON (the first byte picks which) through the server's real router and a real
/// SQLite store, as an admin. Any 5xx answer is a bug (a refusal must be a 4xx), and stops the run.
/// Builds the server before the first input, so process-wide singletons it starts (NIO's thread
/// pool) are not taken for leaks of the input that happened to start them.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let done = DispatchSemaphore(value: 0)
    Task {
        await Harness.shared.warmUp()
        done.signal()
    }
    done.wait()
    // libFuzzer ends with exit(), so the tally goes out from an exit handler.
    atexit { Answers.report() }
    return 0
}

/// How often each status was answered, printed when the run ends: a run whose bodies all end in one
/// early refusal (a 401, a 415) reaches none of the validation it is meant to exercise, and says so.
enum Answers {
    private static let counts = Mutex<[Int: Int]>([:])

    static func count(_ status: Int) {
        counts.withLock { $0[status, default: 0] += 1 }
    }

    static func report() {
        let line = counts.withLock { counts in
            counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        }
        FileHandle.standardError.write(Data("request-bodies: answers \(line)\n".utf8))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let route = Int(data[0])
    let body = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    let done = DispatchSemaphore(value: 0)
    Task {
        await Harness.shared.send(route: route, body: body)
        done.signal()
    }
    done.wait()
    return 0
}

/// One server and store for the whole run.
actor Harness {
    static let shared = Harness()
    private var ready: (responder: Router<AffectRequestContext>.Responder, store: PrivacyStore, study: String, admin: String)?
    private let channel = EmbeddedChannel()

    func send(route: Int, body: ByteBuffer) async {
        do {
            let (responder, store, study, admin) = try await prepared()
            let path: String
            switch route % 5 {
            case 0: path = "/api/v1/studies"
            case 1: path = "/api/v1/studies/\(study)/stimuli"
            case 2: path = "/api/v1/studies/\(study)/invitations"
            case 3: path = "/p/\(try await store.createInvitation(study: study, hours: 1, actor: "fuzz").secret)/consent"
            default: path = "/api/v1/studies/\(study)/audience-moments/am_0000000000000000"
            }
            let head = HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1", path: path,
                                   headerFields: [.authorization: "Bearer \(admin)", .contentType: "application/json"])
            let request = Request(head: head, body: .init(buffer: body))
            let context = AffectRequestContext(source: .init(channel: channel, logger: Logger(label: "fuzz")))
            let status: HTTPResponse.Status
            do {
                status = try await responder.respond(to: request, context: context).status
            } catch let error as any HTTPResponseError {
                status = error.status
            }
            Answers.count(status.code)
            if status.code >= 500 {
                fatalError("\(path) answered \(status.code) to a body of \(body.readableBytes) bytes")
            }
        } catch {
            fatalError("the harness failed: \(error)")
        }
    }

    func warmUp() async {
        do {
            _ = try await prepared()
        } catch {
            fatalError("the harness failed: \(error)")
        }
    }

    private func prepared() async throws -> (Router<AffectRequestContext>.Responder, PrivacyStore, String, String) {
        if let ready { return ready }
        // In memory-backed storage where there is some: every accepted body is a committed transaction.
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        let directory = base.appendingPathComponent("affect-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let admin = try await store.createToken(name: "fuzz", role: .admin, actor: "fuzz").secret
        let study = try await store.createStudy(StudyDefinition(name: "Fuzz", purpose: "Fuzzing the request bodies",
                                                                context: .mediaResearch), actor: "fuzz")
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let capture = CaptureService(engine: nil, store: store, feed: LiveFeed(), provenance: .init(models: [:], configuration: [:]))
        let responder = buildRouter(store: store, metrics: LiveMetrics(), capture: capture, pages: .bundled(), catalog: RouteCatalog(),
                                    logger: logger).buildResponder()
        ready = (responder, store, study.id, admin)
        return (responder, store, study.id, admin)
    }
}

// SwiftPM makes this file's top-level code the program's `main` (it links libFuzzer's `main` too, which
// needs LLVMFuzzerTestOneInput defined, but is not the one called), so it starts libFuzzer's driver.
exit(affect_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, fuzzRequestBody))
