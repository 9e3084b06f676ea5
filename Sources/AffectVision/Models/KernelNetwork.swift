import Foundation
import InferenceKernel

/// A model run by the inference kernel (`Sources/InferenceKernel`) rather than cv::dnn: the program
/// participants' browsers run in device analysis, run here on the same tensors so that the suite
/// checks the two agree.
///
/// Not safe to share between threads: it has one working arena.
public final class KernelNetwork {
    public let name: String
    /// The program, 4-byte aligned as the kernel requires; checked once by `akw_validate`.
    private let program: UnsafeMutableRawBufferPointer
    private let arena: UnsafeMutableBufferPointer<Float>
    /// Output names in the ONNX graph's order.
    public let outputNames: [String]
    /// The input's channels, height and width.
    public let inputShape: (c: Int, h: Int, w: Int)

    /// Takes a program's bytes (``ModelCatalog/verifiedKernelProgram(named:)``); `name` labels errors.
    public init(program bytes: Data, name: String) throws {
        self.name = name
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 4), alignment: 16)
        buffer.copyBytes(from: bytes)
        guard let base = buffer.baseAddress else {
            buffer.deallocate()
            throw VisionError.networkLoadFailed(path: name, reason: "empty kernel program")
        }
        let status = akw_validate(base, UInt32(bytes.count))
        guard status == 0 else {
            buffer.deallocate()
            throw VisionError.networkLoadFailed(path: name, reason: "not a usable kernel program (check \(status))")
        }
        program = buffer
        arena = UnsafeMutableBufferPointer<Float>.allocate(capacity: Int(akw_arena_floats(base)))
        arena.initialize(repeating: 0)
        inputShape = (Int(akw_input_channels(base)), Int(akw_input_height(base)), Int(akw_input_width(base)))
        outputNames = (0..<akw_output_count(base)).map { index in
            let bytes = UnsafeRawBufferPointer(start: akw_output_name(base, index), count: 32)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    deinit {
        // The arena held activations of someone's face: cleared before it is given back.
        arena.update(repeating: 0)
        arena.deallocate()
        program.deallocate()
    }

    /// Runs the program on one planar input (C x H x W, as ``Image/tensor(crop:width:height:encoding:mirrored:interpolation:)``
    /// makes it); returns each output, flat, by name. The arena is zeroed afterwards.
    public func forward(_ input: [Float]) throws -> [String: [Float]] {
        guard let base = program.baseAddress, let memory = arena.baseAddress else { return [:] }
        guard input.count == inputShape.c * inputShape.h * inputShape.w else {
            throw VisionError.inferenceFailed(model: name, reason: "input has \(input.count) values for \(inputShape)")
        }
        let inputOffset = Int(akw_input_offset(base))
        input.withUnsafeBufferPointer { values in
            _ = UnsafeMutableBufferPointer(rebasing: arena[inputOffset..<(inputOffset + values.count)]).initialize(from: values)
        }
        akw_run(base, memory)
        var outputs: [String: [Float]] = [:]
        for (index, name) in outputNames.enumerated() {
            let offset = Int(akw_output_offset(base, UInt32(index))), length = Int(akw_output_length(base, UInt32(index)))
            outputs[name] = Array(arena[offset..<(offset + length)])
        }
        arena.update(repeating: 0)
        return outputs
    }
}
