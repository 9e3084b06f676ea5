@testable import AffectServer
import AffectPipeline
import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// The OpenAPI document describes exactly the routes the server registers: no more, no fewer.
@Suite struct OpenAPITests {
    static let methods: Set<String> = ["get", "post", "put", "patch", "delete"]

    @Test func documentMatchesTheRoutes() async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let catalog = RouteCatalog()
        let capture = CaptureService(engine: nil, store: store, feed: LiveFeed(), provenance: .init(models: [:], configuration: [:]))
        _ = buildRouter(store: store, metrics: LiveMetrics(), capture: capture, pages: .bundled(), catalog: catalog)

        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<Route>()
        for (path, item) in paths {
            for method in item.keys where Self.methods.contains(method) {
                documented.insert(Route(method: method.uppercased(), path: path))
            }
        }
        #expect(documented.subtracting(catalog.routes).sorted() == [], "documented but not served")
        #expect(catalog.routes.subtracting(documented).sorted() == [], "served but not documented")
        #expect(catalog.routes.count >= 11)
    }
}
