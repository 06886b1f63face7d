/// What `make bench` measured: the figures written to bench-results.json, and the table it prints.
struct BenchReport {
    var results: [String: Any] = [:]
    var table: [(String, String)] = []
}
