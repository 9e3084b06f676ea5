import Hummingbird
import HummingbirdWebSocket
import Synchronization

/// One route the server answers, in OpenAPI's notation (`/api/v1/studies/{study}`).
public struct Route: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var method: String
    public var path: String

    public static func < (lhs: Route, rhs: Route) -> Bool { (lhs.path, lhs.method) < (rhs.path, rhs.method) }
    public var description: String { "\(method) \(path)" }
}

/// Records every route as controllers register it, so a test can hold the OpenAPI document to
/// exactly the routes served, and the access table to every route (Hummingbird's router does not
/// list its routes).
final class RouteCatalog: Sendable {
    private let recorded = Mutex((api: Set<Route>(), console: Set<Route>()))

    /// The routes of the API, the participant pages and operations: what the OpenAPI document describes.
    var routes: Set<Route> { recorded.withLock { $0.api } }
    /// The console's pages and forms (HTML for people, not part of the API document).
    var consoleRoutes: Set<Route> { recorded.withLock { $0.console } }
    /// Both.
    var allRoutes: Set<Route> { recorded.withLock { $0.api.union($0.console) } }

    func record(_ method: HTTPRequest.Method, _ path: String, console: Bool = false) {
        let openAPIPath = path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
        let route = Route(method: method.rawValue, path: "/" + openAPIPath.joined(separator: "/"))
        recorded.withLock { _ = console ? $0.console.insert(route) : $0.api.insert(route) }
    }
}

/// Registers routes on a router group and records them in the catalog.
struct Routes {
    let group: RouterGroup<AffectRequestContext>
    let prefix: String
    let catalog: RouteCatalog
    /// Console pages, recorded apart from the API's routes.
    var console = false

    func group(_ path: String) -> Routes {
        Routes(group: group.group(RouterPath(path)), prefix: join(path), catalog: catalog, console: console)
    }

    @discardableResult
    func get<Output: ResponseGenerator>(_ path: String = "",
                                        use handler: @escaping @Sendable (Request, AffectRequestContext) async throws -> Output) -> Routes {
        catalog.record(.get, join(path), console: console)
        group.get(RouterPath(path), use: handler)
        return self
    }

    @discardableResult
    func post<Output: ResponseGenerator>(_ path: String = "",
                                         use handler: @escaping @Sendable (Request, AffectRequestContext) async throws -> Output) -> Routes {
        catalog.record(.post, join(path), console: console)
        group.post(RouterPath(path), use: handler)
        return self
    }

    /// A WebSocket route: a GET that upgrades once `shouldUpgrade` allows it.
    @discardableResult
    func ws(_ path: String,
            shouldUpgrade: @escaping @Sendable (Request, AffectRequestContext) async throws -> RouterShouldUpgrade,
            onUpgrade: @escaping WebSocketDataHandler<WebSocketRouterContext<AffectRequestContext>>) -> Routes {
        catalog.record(.get, join(path))
        group.ws(RouterPath(path), shouldUpgrade: shouldUpgrade, onUpgrade: onUpgrade)
        return self
    }

    private func join(_ path: String) -> String {
        [prefix, path].filter { !$0.isEmpty }.joined(separator: "/")
    }
}
