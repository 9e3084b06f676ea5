import Foundation

/// Where the tests find the package, the models and the shared evaluation data.
public enum TestEnvironment {
    /// The package root, from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/data` beside the checkout, or `$AFFECT_SHARED_DATA`.
    public static let sharedData: URL = {
        if let configured = ProcessInfo.processInfo.environment["AFFECT_SHARED_DATA"], !configured.isEmpty {
            return URL(fileURLWithPath: configured)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    public static let modelsDirectory = packageRoot.appendingPathComponent("models").path

    /// True when the evaluation data is present. When it is not, says so loudly on stderr once:
    /// the tests that need it are skipped, which must never pass unnoticed.
    public static let hasSharedData: Bool = {
        let present = FileManager.default.fileExists(atPath: sharedData.appendingPathComponent("README.md").path)
        if !present {
            FileHandle.standardError.write(Data("""

            ******************************************************************
            SKIPPING data tests: evaluation data not found at \(sharedData.path)
            (set AFFECT_SHARED_DATA to its location to run them)
            ******************************************************************

            """.utf8))
        }
        return present
    }()

    /// True when bootstrap has built the models.
    public static let hasModels: Bool = {
        let present = FileManager.default.fileExists(atPath: modelsDirectory + "/manifest.json")
        if !present {
            FileHandle.standardError.write(Data("SKIPPING model tests: no models at \(modelsDirectory) (run scripts/bootstrap)\n".utf8))
        }
        return present
    }()

    /// The throwaway PostgreSQL `scripts/test` starts (`$AFFECT_TEST_POSTGRES_URL`). Without it the
    /// PostgreSQL half of the store suite is skipped, loudly; CI sets `AFFECT_REQUIRE_POSTGRES=1` to fail instead.
    public static let postgresURL: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["AFFECT_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        if environment["AFFECT_REQUIRE_POSTGRES"] == "1" {
            fatalError("AFFECT_REQUIRE_POSTGRES=1 but AFFECT_TEST_POSTGRES_URL is not set")
        }
        FileHandle.standardError.write(Data("""

        ******************************************************************
        SKIPPING PostgreSQL store tests: AFFECT_TEST_POSTGRES_URL is not set
        (`make test` starts a throwaway server and sets it)
        ******************************************************************

        """.utf8))
        return nil
    }()

    /// A path inside the shared data folder.
    public static func data(_ relative: String) -> String {
        sharedData.appendingPathComponent(relative).path
    }

    /// A fresh temporary directory for derived files (never frames); removed by the caller.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("affect-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
