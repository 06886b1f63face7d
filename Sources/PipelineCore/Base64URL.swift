import Foundation

/// Unpadded base64url (RFC 4648 §5), safe in a URL, a header and a file name: device tokens'
/// MACs, reader keys and the API's opaque cursors. Decoding takes only the alphabet, no padding.
package enum Base64URL {
    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The UTF-8 bytes of `text`, encoded.
    package static func encode(_ text: String) -> String { encode(Array(text.utf8)) }

    /// The bytes, or nil for anything but the unpadded alphabet.
    package static func bytes(_ token: String) -> [UInt8]? {
        guard token.utf8.allSatisfy({ isAlphabet($0) }) else { return nil }
        var b64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.utf8.count % 4 != 0 { b64 += "=" }
        return Data(base64Encoded: b64).map { Array($0) }
    }

    /// The text, or nil when the bytes are no UTF-8.
    package static func decode(_ token: String) -> String? {
        bytes(token).flatMap { String(validating: $0, as: UTF8.self) }
    }

    private static func isAlphabet(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
    }
}
