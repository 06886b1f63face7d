import Foundation
package import Logging
package import ServiceLifecycle
import ServiceSupport

/// Runs the analyzer's worker thread and its small HTTP server for health,
/// readiness and metrics. On graceful shutdown the worker finishes the batch
/// it holds (commit and ack), then cancels its consumer and closes.
package struct AnalyzerService {
    let worker: AnalyzerWorker
    package let http: any Service

    package init(configuration: AnalyzerConfiguration, host: String = "0.0.0.0", port: Int = 9100, killEnabled: Bool = false, logger: Logger) {
        let worker = AnalyzerWorker(configuration: configuration, logger: logger)
        self.worker = worker
        // Its one listener is the admin listener: the analyzer serves nothing else.
        http = AdminServer.make(
            host: host, port: port, serverName: "pipeline-analyzer", killEnabled: killEnabled, logger: logger
        ) {
            let s = worker.snapshot
            return Readiness(
                ready: s.brokerUp && s.databaseUp,
                checks: [
                    "broker": s.brokerUp ? "ok" : s.brokerError,
                    "database": s.databaseUp ? "ok" : s.databaseError,
                ])
        }
    }

    /// In start order; a ServiceGroup stops them in reverse.
    package var services: [any Service] { [WorkerService(worker: worker), http] }
}

/// Adapts the blocking worker thread to a `Service`. It stops on graceful
/// shutdown and also when the group is cancelled (another service failed to
/// start), so a process that cannot serve exits instead of lingering.
struct WorkerService: Service {
    let worker: AnalyzerWorker

    func run() async throws {
        let worker = self.worker
        await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    worker.run()
                    done.resume()
                }
                thread.name = "analyzer-worker"
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            worker.stop()
        }
    }
}
