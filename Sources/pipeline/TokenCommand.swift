import ArgumentParser
import DeviceAuth
import Foundation
import PipelineCore
import SQL
import Storage

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Issue and revoke device tokens.",
        discussion: """
            A token is `v1.<device_id>.<generation>.<HMAC-SHA256>` signed with the secret ingest also holds. Issuing \
            starts a new generation for the device (its older tokens stop working); revoking invalidates all of them. \
            Ingest picks up changes within 5 seconds.
            """,
        subcommands: [Issue.self, Revoke.self, Secret.self])

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new token for each device (one device: the token alone; several, or --csv: `device_id,token` lines).")

        @OptionGroup var auth: AuthOptions

        @Flag(help: "Print `device_id,token` lines even for one device.")
        var csv = false

        @Argument(help: "Device ids; `-` reads them from standard input, one per line.")
        var deviceIDs: [String]

        func run() throws {
            let secret = try auth.secret()
            var ids = deviceIDs.filter { $0 != "-" }
            if deviceIDs.contains("-") {
                while let line = readLine() {
                    let id = line.trimmingCharacters(in: .whitespaces)
                    if !id.isEmpty { ids.append(id) }
                }
            }
            for id in ids where !Validation.isValidDeviceID(id) {
                throw ValidationError("invalid device id '\(id)'")
            }
            let db = try SQLConnection(auth.database.databaseURL, applicationName: "pipeline-token")
            try Schema.requireCurrent(db)
            let lines = csv || ids.count > 1
            for id in ids {
                let token = DeviceToken(deviceID: id, generation: try DeviceTokenStore.issue(id, on: db))
                print(lines ? "\(id),\(token.string(secret: secret))" : token.string(secret: secret))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Invalidate every token of the devices.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "Device ids.")
        var deviceIDs: [String]

        func run() throws {
            let db = try SQLConnection(database.databaseURL, applicationName: "pipeline-token")
            try Schema.requireCurrent(db)
            for id in deviceIDs {
                try DeviceTokenStore.revoke(id, on: db)
                print("revoked \(id)")
            }
        }
    }

    struct Secret: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random signing secret for DEVICE_TOKEN_SECRET.")

        func run() { print(DeviceTokenSecret.generate()) }
    }
}
