import Foundation
import Metrics
import NIOConcurrencyHelpers

/// Admits device connections, for both listeners, so that no client can take
/// ingest's file descriptors or memory:
///
/// - at most `maxConnections` open at once, and never more than the process's
///   open-file limit less `reserve` descriptors, kept for the broker, the
///   database, the admin listener and files; a connection over the cap is
///   answered and closed at once, and those already open keep being served;
/// - at most `maxUnprovenPerAddress` connections per client address that have
///   not yet proven themselves (a valid auth line or reading over TCP, an
///   accepted request over HTTP). A device behind a carrier's NAT shares its
///   address with thousands of others, so proven connections are not capped
///   per address: only the ones that have not shown they are devices.
package final class ConnectionLimiter: Sendable {
    package struct Limits: Sendable, Equatable {
        package var maxConnections: Int
        package var maxUnprovenPerAddress: Int
        /// Descriptors kept free for everything that is not a device connection.
        package var reserve: Int

        package init(maxConnections: Int = 16_000, maxUnprovenPerAddress: Int = 1_000, reserve: Int = 512) {
            self.maxConnections = maxConnections
            self.maxUnprovenPerAddress = maxUnprovenPerAddress
            self.reserve = reserve
        }
    }

    /// Why a connection was refused, for its error line and the metric.
    package enum Refusal: String, Error, Sendable {
        case tooManyConnections = "too_many_connections"
        case tooManyFromAddress = "too_many_from_address"

        package var message: String {
            switch self {
            case .tooManyConnections: "too many connections; retry later"
            case .tooManyFromAddress: "too many unauthenticated connections from this address; retry later"
            }
        }
    }

    /// A connection admitted; `prove` and `release` it.
    package struct Ticket: Sendable, Hashable {
        let id: UInt64
        let address: String
    }

    struct State {
        var next: UInt64 = 0
        var open = 0
        var unproven: [String: Int] = [:]
        var unprovenTickets: Set<UInt64> = []
    }

    package let limits: Limits
    /// The cap in force: `maxConnections`, or fewer when the open-file limit is lower.
    package let cap: Int
    private let state = NIOLockedValueBox(State())
    private let refused: [Refusal: Counter]

    package init(limits: Limits = .init()) {
        self.limits = limits
        var rl = rlimit()
        let files = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 ? Int(clamping: rl.rlim_cur) : 1024
        cap = max(1, min(limits.maxConnections, files - limits.reserve))
        refused = Dictionary(uniqueKeysWithValues: [Refusal.tooManyConnections, .tooManyFromAddress].map {
            ($0, Counter(label: "ingest_connections_refused_total", dimensions: [("reason", $0.rawValue)]))
        })
    }

    /// Connections open now.
    package var open: Int { state.withLockedValue { $0.open } }

    /// Admits a new connection from `address`, or says why not.
    package func admit(address: String) -> Result<Ticket, Refusal> {
        let result: Result<Ticket, Refusal> = state.withLockedValue { s in
            if s.open >= cap { return .failure(.tooManyConnections) }
            if s.unproven[address, default: 0] >= limits.maxUnprovenPerAddress { return .failure(.tooManyFromAddress) }
            s.next += 1
            s.open += 1
            s.unproven[address, default: 0] += 1
            s.unprovenTickets.insert(s.next)
            return .success(Ticket(id: s.next, address: address))
        }
        if case .failure(let why) = result { refused[why]?.increment() }
        return result
    }

    /// The connection showed it is a device: it no longer counts against its address.
    package func prove(_ ticket: Ticket) {
        state.withLockedValue { s in
            guard s.unprovenTickets.remove(ticket.id) != nil else { return }
            Self.decrement(&s.unproven, ticket.address)
        }
    }

    /// The connection closed.
    package func release(_ ticket: Ticket) {
        state.withLockedValue { s in
            s.open -= 1
            if s.unprovenTickets.remove(ticket.id) != nil { Self.decrement(&s.unproven, ticket.address) }
        }
    }

    private static func decrement(_ counts: inout [String: Int], _ address: String) {
        let n = counts[address, default: 1] - 1
        counts[address] = n > 0 ? n : nil
    }
}
