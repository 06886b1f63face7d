package import Hummingbird
import NIOConcurrencyHelpers

/// The routes a router serves, recorded once they are all added, so that a request
/// no route matched can be told apart: a path no route has (404), or a method the
/// path's routes do not serve (405 with `Allow`, as RFC 9110 asks).
package final class RouteTable: Sendable {
    private let routes = NIOLockedValueBox<[(path: RouterPath, method: HTTPRequest.Method)]>([])

    package init() {}

    /// Takes the router's routes in; call it after the last route is added.
    package func record<Context>(_ router: Router<Context>) {
        let all = router.routes.map { (path: $0.path, method: $0.method) }
        routes.withLockedValue { $0 = all }
    }

    /// The methods the routes of `path` serve, sorted; empty when no route has this path.
    package func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        let matching = routes.withLockedValue { all in
            all.filter { route in
                route.path.components.count == parts.count && zip(route.path.components, parts).allSatisfy { $0 ~= $1 }
            }.map(\.method)
        }
        return Array(Set(matching)).sorted { $0.rawValue < $1.rawValue }
    }
}
