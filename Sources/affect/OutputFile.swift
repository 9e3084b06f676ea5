import Foundation

/// Where results go: a new file, or stdout.
final class OutputFile {
    private let handle: FileHandle
    private let path: String?

    /// Opens `path` for writing, or stdout when nil or `-`. Refuses to replace
    /// an existing file unless `overwrite` is set, so earlier results are never lost by accident.
    init(path: String?, overwrite: Bool) throws {
        guard let path, path != "-" else {
            handle = .standardOutput
            self.path = nil
            return
        }
        if FileManager.default.fileExists(atPath: path) && !overwrite {
            throw UsageError(message: "\(path) already exists (pass --overwrite to replace it)")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw UsageError(message: "\(path): cannot create output file")
        }
        self.handle = handle
        self.path = path
    }

    func writeLine(_ line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    func close() throws {
        if path != nil { try handle.close() }
    }
}
