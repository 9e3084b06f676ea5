import Foundation

/// A copy of a decoded frame's pixels that is zeroed (with `explicit_bzero`, which the compiler may not
/// drop) when its last reference goes: a picture does not linger in freed memory.
// Immutable after init: the bytes are written once, then only read, and zeroed in deinit.
final class ZeroedBuffer: @unchecked Sendable {
    private let bytes: UnsafeMutableRawBufferPointer

    init(copying source: UnsafeRawBufferPointer) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: source.count, alignment: 16)
        bytes.copyMemory(from: source)
    }

    var count: Int { bytes.count }

    /// The bytes as `Data` without copying them, valid only inside `body`.
    func withData<Result>(_ body: (Data) throws -> Result) rethrows -> Result {
        guard let base = bytes.baseAddress else { return try body(Data()) }
        return try body(Data(bytesNoCopy: base, count: bytes.count, deallocator: .none))
    }

    deinit {
        if let base = bytes.baseAddress { explicit_bzero(base, bytes.count) }
        bytes.deallocate()
    }
}
