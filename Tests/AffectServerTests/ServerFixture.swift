import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting

/// A server on 127.0.0.1 (port 0) over a fresh database of either backend, with an admin and an analyst token.
struct ServerFixture: Sendable {
    let store: PrivacyStore
    let database: TestDatabase
    let adminToken: String
    let analystToken: String
    var admin: HTTPFields { [.authorization: "Bearer \(adminToken)"] }
    var analyst: HTTPFields { [.authorization: "Bearer \(analystToken)"] }
    /// The server's data directory: uploads go to its `stimuli` folder.
    var dataDirectory: URL { database.directory }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8)) as? [String: Any] else {
            throw FixtureError.notAnObject(String(buffer: buffer))
        }
        return object
    }

    /// The message of an error answer (`{"error": {"message": ...}}`).
    static func errorMessage(_ buffer: ByteBuffer) -> String {
        ((try? json(buffer))?["error"] as? [String: Any])?["message"] as? String ?? ""
    }

    enum FixtureError: Error {
        case notAnObject(String)
    }

    static func run(_ backend: TestDatabase.Backend, configure: (inout ServerConfiguration) -> Void = { _ in },
                    _ body: @escaping @Sendable (any TestClientProtocol, ServerFixture) async throws -> Void) async throws {
        let database = try TestDatabase.make(backend)
        defer { database.drop() }
        let store = try await database.open()
        let admin = try await store.createToken(name: "admin", role: .admin, actor: "test").secret
        let analyst = try await store.createToken(name: "ana", role: .analyst, actor: "test").secret
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0,
                                                stimulusDirectory: database.directory.appendingPathComponent("stimuli").path)
        configure(&configuration)
        let app = buildApplication(configuration: configuration, store: store)
        let fixture = ServerFixture(store: store, database: database, adminToken: admin, analystToken: analyst)
        do {
            try await app.test(.live) { client in try await body(client, fixture) }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}
