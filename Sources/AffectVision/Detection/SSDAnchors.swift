/// Anchor centres for single-shot detectors, generated the way MediaPipe's
/// `SsdAnchorsCalculator` does with `fixed_anchor_size`: every feature-map
/// cell gets one anchor per aspect ratio and scale, all centred on the cell.
struct SSDAnchors {
    struct Anchor {
        /// Centre in [0, 1] input coordinates.
        var x: Double
        var y: Double
    }

    /// BlazeFace short range: 128x128 input, strides 8, 16, 16, 16, two anchors
    /// per layer (layers with the same stride share a grid): 16*16*2 + 8*8*6 = 896.
    static let blazeFaceShortRange = generate(inputSize: 128, strides: [8, 16, 16, 16], anchorsPerLayer: 2)

    static func generate(inputSize: Int, strides: [Int], anchorsPerLayer: Int) -> [Anchor] {
        var anchors: [Anchor] = []
        var layer = 0
        while layer < strides.count {
            var last = layer
            while last + 1 < strides.count && strides[last + 1] == strides[layer] { last += 1 }
            let perCell = anchorsPerLayer * (last - layer + 1)
            let grid = (inputSize + strides[layer] - 1) / strides[layer]
            for row in 0..<grid {
                for column in 0..<grid {
                    let anchor = Anchor(x: (Double(column) + 0.5) / Double(grid), y: (Double(row) + 0.5) / Double(grid))
                    anchors.append(contentsOf: repeatElement(anchor, count: perCell))
                }
            }
            layer = last + 1
        }
        return anchors
    }
}
