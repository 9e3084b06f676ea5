extension String {
    /// Text from a NUL-terminated error buffer filled by the C bridge.
    init(bridgeBuffer buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
