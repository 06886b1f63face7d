import ArgumentParser
import DeviceAuth
import PipelineCore
import SQL
import Storage

struct ReaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reader", abstract: "Issue, revoke and list the reader keys of the alerts API.",
        discussion: """
            A reader key is sent as `Authorization: Bearer <key>` to the alerts API (the page asks for it, or takes it \
            from a `/#key=<key>` link). It sees only the devices of its scope. Only a hash of the key is stored; the key \
            is printed once, by `issue`. The alerts service picks up a revoked key within 5 seconds.
            """,
        subcommands: [Issue.self, Revoke.self, List.self])

    static func validName(_ name: String) throws -> String {
        guard Validation.isValidDeviceID(name) else {
            throw ValidationError("a reader name must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        }
        return name
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new key for NAME (once: it is not stored).")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The devices the key sees: `all`, or `prefix:<device-id prefix>` (like prefix:ward-3-).")
        var scope: String = "all"

        @Flag(help: "Replace NAME's active key (the old one stops working within 5 seconds).")
        var replace = false

        @Argument(help: "Who or what holds the key (a person, a screen, a service).")
        var name: String

        func validate() throws {
            _ = try ReaderCommand.validName(name)
            guard ReaderScope(scope) != nil else {
                throw ValidationError("--scope must be `all` or `prefix:<device-id prefix>` (1-64 characters of A-Z a-z 0-9 . _ : -)")
            }
        }

        func run() throws {
            let db = try SQLConnection(database.databaseURL, applicationName: "pipeline-reader")
            try Schema.requireCurrent(db)
            let key = ReaderKey.generate()
            try ReaderKeyStore.issue(name: name, keyHash: ReaderKey.hash(key), scope: ReaderScope(scope)!, replace: replace, on: db)
            print(key)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End NAME's key (within 5 seconds in every alerts service).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "Reader names.")
        var names: [String]

        func run() throws {
            let db = try SQLConnection(database.databaseURL, applicationName: "pipeline-reader")
            try Schema.requireCurrent(db)
            for name in names {
                guard try ReaderKeyStore.revoke(name: name, on: db) else { throw ReaderKeyStore.Refusal.noActiveKey(name) }
                print("revoked \(name)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every reader: name, scope, state, when its key was issued and last used (never the key).")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let db = try SQLConnection(database.databaseURL, applicationName: "pipeline-reader")
            try Schema.requireCurrent(db)
            let rows = try ReaderKeyStore.list(on: db).map { r in
                [r.name, r.scope, r.revokedAt.map { "revoked \($0)" } ?? "active", r.createdAt, r.lastUsedAt ?? "never"]
            }
            let table = [["NAME", "SCOPE", "STATE", "ISSUED", "LAST USED"]] + rows
            let widths = (0..<5).map { c in table.map { $0[c].count }.max() ?? 0 }
            for row in table {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingTrailingSpaces())
            }
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
