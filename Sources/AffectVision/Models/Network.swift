import CVBridge

/// A tensor returned by a network: flat values plus their shape.
public struct Tensor: Sendable {
    public var values: [Float]
    public var shape: [Int]
}

/// One ONNX network loaded into cv::dnn.
///
/// Not safe to share between threads (cv::dnn keeps per-net state during a
/// forward pass): each worker builds its own.
public final class Network {
    private let handle: OpaquePointer
    public let name: String
    /// Output names in the order ``forward(_:shape:)`` returns them.
    public let outputNames: [String]
    // Output buffers owned by this net, reused across calls and grown when an output outgrows them.
    private var buffers: [UnsafeMutableBufferPointer<Float>]

    /// Loads a network; `name` labels it in errors.
    public init(path: String, name: String) throws {
        OpenCVRuntime.prepared
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = cvb_net_load(path, &error, error.count) else {
            throw VisionError.networkLoadFailed(path: path, reason: String(bridgeBuffer: error))
        }
        self.handle = handle
        self.name = name
        outputNames = (0..<Int(cvb_net_output_count(handle))).map { String(cString: cvb_net_output_name(handle, Int32($0))) }
        buffers = outputNames.map { _ in Network.allocate(4096) }
    }

    deinit {
        cvb_net_free(handle)
        for buffer in buffers { buffer.deallocate() }
    }

    private static func allocate(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        buffer.initialize(repeating: 0)
        return buffer
    }

    /// Runs the network on one NCHW input; returns its outputs by name.
    public func forward(_ input: [Float], shape: (n: Int, c: Int, h: Int, w: Int)) throws -> [String: Tensor] {
        guard input.count == shape.n * shape.c * shape.h * shape.w else {
            throw VisionError.inferenceFailed(model: name, reason: "input has \(input.count) values for shape \(shape)")
        }
        let count = outputNames.count
        var lengths = [Int](repeating: 0, count: count)
        var shapes = [Int32](repeating: 0, count: 4 * count)
        var error = [CChar](repeating: 0, count: 512)
        for attempt in 0..<2 {
            let capacities = buffers.map(\.count)
            let pointers: [UnsafeMutablePointer<Float>?] = buffers.map(\.baseAddress)
            let status = input.withUnsafeBufferPointer { inputBuffer in
                cvb_net_forward(handle, inputBuffer.baseAddress, Int32(shape.n), Int32(shape.c), Int32(shape.h),
                                Int32(shape.w), pointers, capacities, &lengths, &shapes, &error, error.count)
            }
            if status == 0 { break }
            // -2: an output outgrew its buffer; grow them and run once more.
            guard status == -2, attempt == 0 else {
                throw VisionError.inferenceFailed(model: name, reason: String(bridgeBuffer: error))
            }
            for index in 0..<count where lengths[index] > buffers[index].count {
                buffers[index].deallocate()
                buffers[index] = Network.allocate(lengths[index])
            }
        }
        var outputs: [String: Tensor] = [:]
        for index in 0..<count {
            let dims = shapes[(4 * index)..<(4 * index + 4)].map(Int.init).filter { $0 > 0 }
            outputs[outputNames[index]] = Tensor(values: Array(buffers[index][0..<lengths[index]]), shape: dims)
        }
        return outputs
    }
}
