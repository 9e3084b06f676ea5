import AffectVision
import Foundation

/// A small CSV file a user wrote by hand or exported from a spreadsheet (a groups file, a coder's
/// codes): a header row naming the columns, then one record per line. Fields may be quoted with
/// double quotes (a quote inside doubled). Bounded: at most `maximumBytes` and `maximumRows`.
struct CSVTable {
    var columns: [String]
    /// Each row with its 1-based line number in the file, for error messages.
    var rows: [(line: Int, fields: [String])]

    static let maximumBytes = 64 * 1024 * 1024
    static let maximumRows = 1_000_000

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw VisionError.inputMissing(path: path) }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > Self.maximumBytes {
            throw VisionError.inputUnreadable(path: path, reason: "larger than \(Self.maximumBytes / 1024 / 1024) MB")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw VisionError.inputUnreadable(path: path, reason: "not UTF-8 text")
        }
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map(String.init)
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        guard let header = lines.first else { throw VisionError.inputEmpty(path: path) }
        columns = try Self.fields(header, line: 1, path: path).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard lines.count - 1 <= Self.maximumRows else {
            throw VisionError.inputUnreadable(path: path, reason: "more than \(Self.maximumRows) rows")
        }
        rows = []
        for (offset, line) in lines.dropFirst().enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let fields = try Self.fields(line, line: offset + 2, path: path)
            guard fields.count == columns.count else {
                throw VisionError.inputUnreadable(path: path, reason: "line \(offset + 2) has \(fields.count) fields, the header \(columns.count)")
            }
            rows.append((offset + 2, fields))
        }
    }

    /// The index of a column, or a one-line error naming what the file should have.
    func column(_ name: String, path: String, example: String) throws -> Int {
        guard let index = columns.firstIndex(of: name) else {
            throw VisionError.inputUnreadable(path: path, reason: "no \(name) column in the header (expected e.g. \(example))")
        }
        return index
    }

    static func fields(_ line: String, line number: Int, path: String) throws -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var characters = Array(line)
        if characters.last == "\r" { characters.removeLast() }
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" {
                        current.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(character)
                }
            } else if character == "\"" && current.isEmpty {
                quoted = true
            } else if character == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
            index += 1
        }
        guard !quoted else { throw VisionError.inputUnreadable(path: path, reason: "line \(number) has an unclosed quote") }
        fields.append(current)
        return fields
    }
}
