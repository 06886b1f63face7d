import CCrypto
import Foundation
import PipelineCore

/// A reader key of the alerts API: `rk1_` and 32 random bytes (base64url).
///
/// Why random keys and only their hash in the database: unlike device tokens,
/// nothing needs to verify a key without the database, and a copy of the
/// table (a backup, a replica) then grants nothing. 256 random bits need no
/// slow password hash: SHA-256 of the key is enough to look it up.
package enum ReaderKey {
    /// A fresh key, to print once.
    package static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        precondition(RAND_bytes(&bytes, 32) == 1, "RAND_bytes failed")
        return "rk1_" + Base64URL.encode(bytes)
    }

    /// True for something shaped like a key (checked before hashing what a client sent).
    package static func isWellFormed(_ key: String) -> Bool {
        key.utf8.count == 47 && key.hasPrefix("rk1_")
            && key.utf8.dropFirst(4).allSatisfy { c in
                (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
            }
    }

    /// The stored form: SHA-256 of the key, hex.
    package static func hash(_ key: String) -> String {
        var out = [UInt8](repeating: 0, count: 32)
        let bytes = Array(key.utf8)
        let ok = bytes.withUnsafeBytes { pipeline_sha256($0.baseAddress, $0.count, &out) }
        precondition(ok == 1, "SHA-256 failed")
        return out.map { String(format: "%02x", $0) }.joined()
    }
}
