import Foundation
import Hummingbird

/// `GET /openapi.json`: the API description. Tests hold it to exactly the routes served, and
/// schemathesis holds the server to it.
struct OpenAPIController {
    func addRoutes(to routes: Routes) {
        routes.get("openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }
}

/// The OpenAPI 3.1 document of Affect's HTTP interface (`OpenAPI/openapi.json`, a bundled resource).
enum OpenAPIDocument {
    static let json: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            // The resource ships with the module; without it the build itself is broken.
            return #"{"openapi": "3.1.0", "info": {"title": "Affect (document missing from this build)", "version": "1"}, "paths": {}}"#
        }
        return text
    }()
}
