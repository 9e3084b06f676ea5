import Foundation

/// An encoded image's format and declared size, read from its first bytes without decoding anything.
///
/// A few kilobytes can declare a 32000x32000 picture (3 GB once decoded): the size is checked against
/// a limit before a decoder allocates pixel memory. Reads JPEG, PNG, BMP, WebP, TIFF and PNM (PPM/PGM/PBM).
public struct ImageHeader: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable {
        case jpeg, png, bmp, webp, tiff, pnm
    }

    public var format: Format
    public var width: Int
    public var height: Int

    /// Width times height.
    public var pixels: Int { width * height }

    /// Why no size could be read.
    public enum Unreadable: Error, Sendable, Hashable, CustomStringConvertible {
        /// Not a format Affect reads.
        case unknownFormat
        /// The format's signature, but its header is cut short or inconsistent.
        case malformed(Format)

        public var description: String {
            switch self {
            case .unknownFormat: "not a JPEG, PNG, BMP, WebP, TIFF or PNM image"
            case .malformed(let format): "its \(format.rawValue.uppercased()) header is cut short or malformed"
            }
        }
    }

    public init(format: Format, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }

    /// Reads the header of `bytes`; throws when the format is unknown or the header malformed.
    public init(reading bytes: some Collection<UInt8>) throws(Unreadable) {
        let data = Array(bytes.prefix(Self.maximumHeaderBytes))
        if data.starts(with: [0xFF, 0xD8]) {
            self = try Self.jpeg(data)
        } else if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = try Self.png(data)
        } else if data.starts(with: Array("BM".utf8)) {
            self = try Self.bmp(data)
        } else if data.count >= 12, data.starts(with: Array("RIFF".utf8)), Array(data[8..<12]) == Array("WEBP".utf8) {
            self = try Self.webp(data)
        } else if data.starts(with: [0x49, 0x49, 0x2A, 0x00]) || data.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            self = try Self.tiff(data)
        } else if data.count >= 3, data[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "6")).contains(data[1]),
                  [0x20, 0x09, 0x0A, 0x0D].contains(data[2]) {
            self = try Self.pnm(data)
        } else {
            throw .unknownFormat
        }
        guard width > 0, height > 0 else { throw .malformed(format) }
    }

    /// JPEG's frame header may follow large EXIF and ICC segments; no real header needs more than this.
    static let maximumHeaderBytes = 1 << 20

    // MARK: Formats

    private static func bigEndian(_ data: [UInt8], _ offset: Int, _ count: Int) -> Int {
        (offset..<offset + count).reduce(0) { $0 << 8 | Int(data[$1]) }
    }

    private static func littleEndian(_ data: [UInt8], _ offset: Int, _ count: Int) -> Int {
        (offset..<offset + count).reversed().reduce(0) { $0 << 8 | Int(data[$1]) }
    }

    /// Walks the marker segments from SOI to the first start-of-frame (SOF0...SOF15 but DHT, JPG, DAC).
    private static func jpeg(_ data: [UInt8]) throws(Unreadable) -> ImageHeader {
        var offset = 2
        while true {
            // Markers may be padded with any number of 0xFF fill bytes.
            guard offset < data.count, data[offset] == 0xFF else { throw .malformed(.jpeg) }
            while offset < data.count, data[offset] == 0xFF { offset += 1 }
            guard offset < data.count else { throw .malformed(.jpeg) }
            let marker = data[offset]
            offset += 1
            // Standalone markers carry no length.
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }
            // Entropy-coded data or the end before any frame header: no size to read.
            if marker == 0xD9 || marker == 0xDA { throw .malformed(.jpeg) }
            guard offset + 2 <= data.count else { throw .malformed(.jpeg) }
            let length = bigEndian(data, offset, 2)
            guard length >= 2 else { throw .malformed(.jpeg) }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 7, offset + 7 <= data.count else { throw .malformed(.jpeg) }
                return ImageHeader(format: .jpeg, width: bigEndian(data, offset + 5, 2), height: bigEndian(data, offset + 3, 2))
            }
            offset += length
        }
    }

    private static func png(_ data: [UInt8]) throws(Unreadable) -> ImageHeader {
        guard data.count >= 24, Array(data[12..<16]) == Array("IHDR".utf8) else { throw .malformed(.png) }
        return ImageHeader(format: .png, width: bigEndian(data, 16, 4), height: bigEndian(data, 20, 4))
    }

    private static func bmp(_ data: [UInt8]) throws(Unreadable) -> ImageHeader {
        guard data.count >= 26 else { throw .malformed(.bmp) }
        let headerSize = littleEndian(data, 14, 4)
        if headerSize == 12 {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
            return ImageHeader(format: .bmp, width: littleEndian(data, 18, 2), height: littleEndian(data, 20, 2))
        }
        guard headerSize >= 40 else { throw .malformed(.bmp) }
        let width = Int32(bitPattern: UInt32(littleEndian(data, 18, 4)))
        let height = Int32(bitPattern: UInt32(littleEndian(data, 22, 4)))  // negative: rows top-down
        return ImageHeader(format: .bmp, width: Int(width), height: Int(height.magnitude))
    }

    private static func webp(_ data: [UInt8]) throws(Unreadable) -> ImageHeader {
        guard data.count >= 30 else { throw .malformed(.webp) }
        switch String(decoding: data[12..<16], as: UTF8.self) {
        case "VP8X":
            return ImageHeader(format: .webp, width: littleEndian(data, 24, 3) + 1, height: littleEndian(data, 27, 3) + 1)
        case "VP8L":
            guard data[20] == 0x2F else { throw .malformed(.webp) }
            let bits = littleEndian(data, 21, 4)
            return ImageHeader(format: .webp, width: (bits & 0x3FFF) + 1, height: ((bits >> 14) & 0x3FFF) + 1)
        case "VP8 ":
            guard Array(data[23..<26]) == [0x9D, 0x01, 0x2A] else { throw .malformed(.webp) }
            return ImageHeader(format: .webp, width: littleEndian(data, 26, 2) & 0x3FFF, height: littleEndian(data, 28, 2) & 0x3FFF)
        default:
            throw .malformed(.webp)
        }
    }

    /// The first image file directory's ImageWidth (256) and ImageLength (257) tags.
    private static func tiff(_ data: [UInt8]) throws(Unreadable) -> ImageHeader {
        let little = data[0] == 0x49
        func read(_ offset: Int, _ count: Int) throws(Unreadable) -> Int {
            guard offset >= 0, offset + count <= data.count else { throw .malformed(.tiff) }
            return little ? littleEndian(data, offset, count) : bigEndian(data, offset, count)
        }
        let directory = try read(4, 4)
        let entries = try read(directory, 2)
        var width = 0, height = 0
        for index in 0..<min(entries, 4096) {
            let entry = directory + 2 + 12 * index
            let tag = try read(entry, 2), type = try read(entry + 2, 2)
            guard tag == 256 || tag == 257 else { continue }
            // SHORT (3) values sit in the first two bytes of the value field, LONG (4) in all four.
            let value = type == 3 ? try read(entry + 8, 2) : type == 4 ? try read(entry + 8, 4) : 0
            if tag == 256 { width = value } else { height = value }
        }
        return ImageHeader(format: .tiff, width: width, height: height)
    }

    /// `P1`...`P6`, then width and height as decimal text, with `#` comments allowed between tokens.
    private static func pnm(_ data: [UInt8]) throws(Unreadable) -> ImageHeader {
        var offset = 2
        var numbers: [Int] = []
        while numbers.count < 2 {
            while offset < data.count {
                if data[offset] == UInt8(ascii: "#") {
                    while offset < data.count, data[offset] != 0x0A { offset += 1 }
                } else if [0x20, 0x09, 0x0A, 0x0D].contains(data[offset]) {
                    offset += 1
                } else {
                    break
                }
            }
            var value = 0, digits = 0
            while offset < data.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(data[offset]), digits < 9 {
                value = value * 10 + Int(data[offset] - UInt8(ascii: "0"))
                digits += 1
                offset += 1
            }
            guard digits > 0 else { throw .malformed(.pnm) }
            numbers.append(value)
        }
        return ImageHeader(format: .pnm, width: numbers[0], height: numbers[1])
    }
}
