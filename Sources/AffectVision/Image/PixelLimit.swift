/// The largest pictures Affect decodes, by the size their headers declare (width x height), checked
/// before any pixel memory is allocated: one small file can declare 32000x32000 pixels, 3 GB decoded.
public enum PixelLimit {
    /// Frames a capture page pushes (`affect serve --max-frame-pixels`): a 1080p webcam frame is 2.1 MP.
    public static let capture = 4_000_000
    /// Images, video files and streams given to `affect analyze` and `affect eval` (`--max-image-pixels`):
    /// a 48 MP phone photo fits, with room.
    public static let files = 64_000_000

    /// "4 MP", "2.5 MP", or the pixel count below a megapixel.
    public static func describe(_ pixels: Int) -> String {
        guard pixels >= 1_000_000 else { return "\(pixels)-pixel" }
        let megapixels = Double(pixels) / 1_000_000
        return megapixels == megapixels.rounded() ? "\(Int(megapixels)) MP" : "\(megapixels) MP"
    }
}
