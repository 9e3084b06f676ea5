import Foundation
import HTTPTypes
import Hummingbird

/// The participant page at `/p/:secret`, plain HTML, CSS and JavaScript (no build step); its script
/// and style are under `/static/`. It holds no data: everything comes from the link's routes once
/// loaded. (The console's pages are rendered from templates: ``ConsoleTemplates``.)
struct PagesController {
    let pages: PageAssets

    func addRoutes(to root: Routes) {
        root.get("p/:secret") { _, _ -> Response in try pages.page("participant.html") }
    }
}

/// Where the pages' files are: the `Public` folder copied into the server module's resource bundle.
struct PageAssets: Sendable {
    let folder: String

    static func bundled() -> PageAssets {
        PageAssets(folder: Bundle.module.url(forResource: "Public", withExtension: nil)?.path ?? "Public")
    }

    var staticFolder: String { (folder as NSString).appendingPathComponent("static") }

    func page(_ name: String) throws -> Response {
        let path = (folder as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HTTPError(.internalServerError, message: "the server's page files are missing (\(name))")
        }
        // The pages load only their own scripts and talk only to this server; 'wasm-unsafe-eval' lets
        // them compile WebAssembly (the inference kernel, fetched from this server) and nothing else.
        let policy = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: https: http:; "
            + "style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; frame-ancestors 'none'"
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: policy, .cacheControl: "no-store"]
        // A participant's link carries its secret: never pass it on to the stimulus host.
        if let referrer = HTTPField.Name("Referrer-Policy") { headers[referrer] = "no-referrer" }
        return Response(status: .ok, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
