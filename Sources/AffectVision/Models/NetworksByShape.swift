/// One network per input shape, for a model whose graph is fully convolutional.
///
/// cv::dnn 4.6 keeps state from the first shape an ONNX network runs at: the same CenterFace network
/// fed images of several sizes found no face in 47 of 60 resized fixture images that fresh networks
/// found faces in (the answer depended on the sizes seen before). A network that only ever sees one
/// shape is correct by construction. The least recently used one is dropped past `capacity`, so a
/// folder of many sizes bounds memory and pays a reload instead.
final class NetworksByShape {
    struct Shape: Hashable {
        var height: Int
        var width: Int
    }

    private let load: () throws -> Network
    private let capacity: Int
    private var networks: [Shape: Network] = [:]
    /// Least recently used first.
    private var order: [Shape] = []
    /// Networks loaded so far, evictions included (for tests and benchmarks).
    private(set) var loads = 0

    init(capacity: Int, load: @escaping () throws -> Network) {
        self.capacity = max(1, capacity)
        self.load = load
    }

    /// The network for `shape`, loaded on first use.
    func network(for shape: Shape) throws -> Network {
        if let network = networks[shape] {
            order.removeAll { $0 == shape }
            order.append(shape)
            return network
        }
        let network = try load()
        loads += 1
        if networks.count >= capacity, let oldest = order.first {
            order.removeFirst()
            networks[oldest] = nil
        }
        networks[shape] = network
        order.append(shape)
        return network
    }
}
