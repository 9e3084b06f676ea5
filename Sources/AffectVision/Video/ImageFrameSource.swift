/// A still image as a one-frame source.
final class ImageFrameSource: FrameSource {
    let name: String
    let nominalFramesPerSecond: Double? = nil
    let declaredFrameCount: Int? = 1
    let isLive = false
    private var image: Image?
    private var delivered = false

    init(path: String, maximumPixels: Int) throws {
        name = path
        image = try Image(contentsOf: path, maximumPixels: maximumPixels)
    }

    func advance() throws -> FrameStamp? {
        guard !delivered else {
            image = nil
            return nil
        }
        delivered = true
        return FrameStamp(index: 0, timeMilliseconds: 0)
    }

    func currentImage() throws -> Image {
        guard let image else { throw VisionError.imageUndecodable(source: name) }
        return image
    }
}
