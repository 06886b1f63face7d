import Foundation

/// Completes a continuation once all of `count` results arrived, with the first failure if any.
final class Gather: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    private var failure: AMQPError?
    private let continuation: CheckedContinuation<Result<Void, AMQPError>, Never>

    init(count: Int, continuation: CheckedContinuation<Result<Void, AMQPError>, Never>) {
        self.remaining = count
        self.continuation = continuation
    }

    func complete(_ result: Result<Void, AMQPError>) {
        lock.lock()
        if case .failure(let e) = result, failure == nil { failure = e }
        remaining -= 1
        let done = remaining == 0
        let failure = self.failure
        lock.unlock()
        if done { continuation.resume(returning: failure.map { .failure($0) } ?? .success(())) }
    }
}
