import ArgumentParser
import DeviceAuth
import EnvironmentVariables
import Foundation
import Ingest
import ServiceSupport

/// Device authentication settings, shared by `ingest` and `token`.
struct AuthOptions: ParsableArguments {
    @Option(help: "Device authentication: on (default) or off, for local experiments only (env: DEVICE_AUTH).")
    var deviceAuth: String = Env.string("DEVICE_AUTH") ?? "on"

    @Option(help: "File holding the token signing secret (env: DEVICE_TOKEN_SECRET_FILE; or the secret itself in DEVICE_TOKEN_SECRET).")
    var tokenSecretFile: String = Env.string("DEVICE_TOKEN_SECRET_FILE") ?? ""

    @OptionGroup var database: DatabaseOptions

    var enabled: Bool {
        get throws {
            guard let on = Env.flag(deviceAuth) else { throw ValidationError("--device-auth must be on or off") }
            return on
        }
    }

    func secret() throws -> DeviceTokenSecret {
        var raw = Env.string("DEVICE_TOKEN_SECRET")
        if !tokenSecretFile.isEmpty {
            guard let text = try? String(contentsOfFile: tokenSecretFile, encoding: .utf8) else {
                throw ValidationError("cannot read the token secret file '\(tokenSecretFile)'")
            }
            raw = text
        }
        guard let raw else {
            throw ValidationError(
                "device authentication is on but no secret is set: set DEVICE_TOKEN_SECRET or DEVICE_TOKEN_SECRET_FILE "
                    + "(`pipeline token secret` makes one), or DEVICE_AUTH=off for local experiments")
        }
        guard let secret = DeviceTokenSecret(raw) else { throw ValidationError("the token secret must be at least 16 bytes") }
        return secret
    }

    /// Nil when authentication is off.
    func configuration() throws -> IngestConfiguration.Auth? {
        guard try enabled else { return nil }
        return IngestConfiguration.Auth(secret: try secret(), databaseURL: database.databaseURL)
    }
}
