import PipelineCore
import Storage

/// The opaque cursor of `/v1/devices`: the last device id of the previous page.
enum DeviceCursor {
    static func encode(_ deviceID: String) -> String { Base64URL.encode(deviceID) }

    static func decode(_ token: String) -> String? {
        guard let id = Base64URL.decode(token), Validation.isValidDeviceID(id) else { return nil }
        return id
    }
}
