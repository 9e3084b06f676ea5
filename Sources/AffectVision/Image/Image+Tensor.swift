import AffectCore
import CVBridge

/// How pixels become network input values: `value = pixel * scale + offset`.
public struct TensorEncoding: Sendable, Hashable {
    public enum Colour: Sendable, Hashable {
        case grey, rgb, bgr
        var channels: Int { self == .grey ? 1 : 3 }
        var bridged: cvb_tensor_colour {
            switch self {
            case .grey: CVB_TENSOR_GREY
            case .rgb: CVB_TENSOR_RGB
            case .bgr: CVB_TENSOR_BGR
            }
        }
    }

    public var colour: Colour
    public var scale: Float
    public var offset: Float

    public init(colour: Colour, scale: Float, offset: Float) {
        self.colour = colour
        self.scale = scale
        self.offset = offset
    }
}

extension Image {
    /// Resampling filter for ``tensor(crop:width:height:encoding:mirrored:interpolation:)``.
    public enum Interpolation: Sendable {
        /// Bilinear, as the emotion model's reference figures use.
        case linear
        /// Pixel-area averaging, which avoids aliasing when shrinking a lot.
        case area
    }

    /// A planar float tensor (channels x height x width) of the `crop`
    /// rectangle resized to `width` x `height`. Parts of the crop outside the
    /// image read as black.
    public func tensor(crop: Box, width: Int, height: Int, encoding: TensorEncoding, mirrored: Bool = false,
                       interpolation: Interpolation = .linear) throws -> [Float] {
        var values = [Float](repeating: 0, count: encoding.colour.channels * width * height)
        let status = values.withUnsafeMutableBufferPointer { buffer in
            cvb_image_crop_to_tensor(handle, Int32(crop.x.rounded()), Int32(crop.y.rounded()),
                                     Int32(crop.width.rounded()), Int32(crop.height.rounded()), Int32(width),
                                     Int32(height), encoding.colour.bridged,
                                     interpolation == .area ? CVB_INTERP_AREA : CVB_INTERP_LINEAR,
                                     mirrored ? 1 : 0, encoding.scale, encoding.offset, buffer.baseAddress, buffer.count)
        }
        guard status == 0 else { throw VisionError.inferenceFailed(model: "preprocessing", reason: "crop \(crop) failed") }
        return values
    }

    /// A planar float tensor sampled through an affine map from output pixels
    /// to source pixels: `source = [a b c; d e f] * [x, y, 1]`.
    public func tensor(outputToSource matrix: [Double], width: Int, height: Int, encoding: TensorEncoding,
                       mirrored: Bool = false) throws -> [Float] {
        guard matrix.count == 6 else {
            throw VisionError.inferenceFailed(model: "preprocessing", reason: "an affine matrix has six entries")
        }
        var values = [Float](repeating: 0, count: encoding.colour.channels * width * height)
        let status = values.withUnsafeMutableBufferPointer { buffer in
            matrix.withUnsafeBufferPointer { affine in
                cvb_image_warp_to_tensor(handle, affine.baseAddress, Int32(width), Int32(height), encoding.colour.bridged,
                                         mirrored ? 1 : 0, encoding.scale, encoding.offset, buffer.baseAddress,
                                         buffer.count)
            }
        }
        guard status == 0 else { throw VisionError.inferenceFailed(model: "preprocessing", reason: "warp failed") }
        return values
    }
}
