import CCrypto
import Foundation
import PipelineCore

/// A device's credential: `v1.<device_id>.<generation>.<mac>`, where `mac` is
/// HMAC-SHA256 under the operator's secret of the version, device and
/// generation (base64url).
///
/// Why HMAC and not random tokens in a table: ingest verifies a token with the
/// secret alone, so a database outage never locks out a device. Revocation
/// bumps the device's generation in the database; ingest keeps the current
/// generations in memory, so a revoked token stops working within one refresh.
package struct DeviceToken: Sendable, Equatable {
    package var deviceID: String
    package var generation: Int64

    package init(deviceID: String, generation: Int64) {
        self.deviceID = deviceID
        self.generation = generation
    }

    /// The token string a device presents.
    package func string(secret: DeviceTokenSecret) -> String {
        "v1.\(deviceID).\(generation).\(Base64URL.encode(secret.mac(Self.message(deviceID, generation))))"
    }

    /// Parses and checks the MAC; nil for anything malformed or not signed with `secret`.
    package static func verify(_ token: String, secret: DeviceTokenSecret) -> DeviceToken? {
        guard token.utf8.count <= 256, token.hasPrefix("v1.") else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, let generation = Int64(parts[parts.count - 2]), generation >= 0 else { return nil }
        let deviceID = parts[1..<(parts.count - 2)].joined(separator: ".")
        guard Validation.isValidDeviceID(deviceID),
            let mac = Base64URL.bytes(String(parts[parts.count - 1])), mac.count == 32
        else { return nil }
        let expected = secret.mac(message(deviceID, generation))
        let equal = mac.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, 32) } }
        guard equal == 0 else { return nil }
        return DeviceToken(deviceID: deviceID, generation: generation)
    }

    static func message(_ deviceID: String, _ generation: Int64) -> [UInt8] {
        Array("v1\n\(deviceID)\n\(generation)".utf8)
    }
}

/// The operator's signing secret (at least 16 bytes), shared by ingest and `pipeline token`.
package struct DeviceTokenSecret: Sendable {
    let key: [UInt8]

    package init?(_ secret: String) {
        let key = Array(secret.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard key.count >= 16 else { return nil }
        self.key = key
    }

    /// 32 random bytes, hex-encoded: a fresh secret for `DEVICE_TOKEN_SECRET`.
    package static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        precondition(RAND_bytes(&bytes, 32) == 1, "RAND_bytes failed")
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    func mac(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in pipeline_hmac_sha256(k.baseAddress, Int32(k.count), m.baseAddress, m.count, &out) }
        }
        precondition(ok == 1, "HMAC-SHA256 failed")
        return out
    }
}
