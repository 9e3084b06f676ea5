import AffectVision
import Foundation
import FuzzDriver

/// libFuzzer entry point: one capture message, as a participant's page (or an attacker) sends it,
/// through everything the server does with it before analysis: the wire format, the frame checks
/// (size, JPEG header, pixel limit) and decoding. Nothing may crash, hang or allocate past the limits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameMessage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let message = try? FrameMessage(parsing: bytes) else { return 0 }
    _ = message.encoded()
    let source = PushFrameSource(name: "fuzz", timeoutSeconds: 0.001, maximumFrameBytes: 2 << 20, maximumPixels: PixelLimit.capture)
    guard (try? source.push(message.jpeg, capturedAt: message.mediaMilliseconds)) != nil else { return 0 }
    guard (try? source.advance()) != nil else { return 0 }
    if let image = try? source.currentImage() {
        precondition(image.width * image.height <= PixelLimit.capture, "decoded past the pixel limit")
    }
    return 0
}

// SwiftPM makes this file's top-level code the program's `main` (it links libFuzzer's `main` too, which
// needs LLVMFuzzerTestOneInput defined, but is not the one called), so it starts libFuzzer's driver.
exit(affect_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, fuzzFrameMessage))
