package import ServiceLifecycle

/// A listening service whose failure names what could not listen, so a process
/// that cannot start ends with one line an operator can act on
/// (`cannot serve HTTP on 0.0.0.0:8443: … Address already in use`).
package struct Listener: Service {
    /// What the error says went wrong, e.g. `HTTP on 0.0.0.0:8443`.
    package let what: String
    package let service: any Service

    package init(_ what: String, _ service: any Service) {
        self.what = what
        self.service = service
    }

    package func run() async throws {
        do {
            try await service.run()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ListenerError(description: "cannot serve \(what): \(error)")
        }
    }
}

/// A listener that could not start (or stopped with an error), with what and where.
package struct ListenerError: Error, CustomStringConvertible {
    package var description: String

    package init(description: String) {
        self.description = description
    }
}
