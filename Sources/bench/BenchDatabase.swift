import SQL

/// A database of one bench part's own, beside the stack's (so no part runs
/// against another's rows), made fresh and dropped with `drop()`.
struct BenchDatabase {
    let name: String
    let url: String
    private let adminURL: String

    init(adminURL: String, name: String) throws {
        let admin = try SQLConnection(adminURL)
        try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(name)")
        self.name = name
        self.adminURL = adminURL
        url = Self.replacingDatabase(in: adminURL, with: name)
    }

    func drop() { _ = try? SQLConnection(adminURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard let scheme = url.range(of: "://"),
            let slash = url.range(of: "/", options: .backwards, range: scheme.upperBound..<url.endIndex)
        else { return url + "/" + name }
        let rest = url[slash.upperBound...]
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return String(url[..<slash.upperBound]) + name + query
    }
}
