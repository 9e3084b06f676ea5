import _CryptoExtras
import Crypto
import Foundation

/// Passwords stored as scrypt hashes (memory-hard: 32 MiB and about a tenth of a second per try), in
/// one self-describing text: `scrypt$LOG2N$R$P$SALT$HASH` (salt and hash in base64).
///
/// Deriving blocks a thread for the whole time, so it runs on a thread of its own, and at most
/// ``maximumConcurrentDerivations`` at once: a burst of sign-ins waits its turn instead of taking
/// every core (and 32 MiB each) from the capture engine.
public enum PasswordHash {
    /// log2 of scrypt's cost N, and its block size and parallelism (RFC 7914's interactive setting, doubled).
    static let logRounds = 15
    static let blockSize = 8
    static let parallelism = 1
    static let saltBytes = 16
    static let hashBytes = 32
    /// Derivations at once across the process.
    static let maximumConcurrentDerivations = 2
    /// The shortest and longest password accepted (long ones only cost time).
    public static let minimumLength = 10
    public static let maximumLength = 256

    /// Sign-ins waiting beyond this many are refused as busy (the throttle bounds each name and address).
    static let maximumWaiting = 64
    private static let gate = AsyncGate(limit: maximumConcurrentDerivations, maximumWaiters: maximumWaiting)

    /// Checks a new password's length; the message is for the person choosing it.
    public static func check(_ password: String) throws(StoreError) {
        // Counted in code points, as JSON Schema's minLength counts them.
        let count = password.unicodeScalars.count
        guard count >= minimumLength else { throw .invalidInput("a password needs at least \(minimumLength) characters") }
        guard count <= maximumLength else { throw .invalidInput("a password may have at most \(maximumLength) characters") }
    }

    /// A new hash of `password` with a fresh salt.
    static func make(_ password: String) async throws -> String {
        var salt = [UInt8](repeating: 0, count: saltBytes)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let hash = try await derive(password, salt: salt, logRounds: logRounds, blockSize: blockSize, parallelism: parallelism)
        return ["scrypt", String(logRounds), String(blockSize), String(parallelism),
                Data(salt).base64EncodedString(), Data(hash).base64EncodedString()].joined(separator: "$")
    }

    /// Whether `password` matches `stored`. A nil or unreadable `stored` still costs one derivation, so
    /// an unknown name takes as long to refuse as a wrong password.
    static func verify(_ password: String, against stored: String?) async throws -> Bool {
        guard let stored, let parsed = Parsed(stored) else {
            _ = try await derive(password, salt: [UInt8](repeating: 0, count: saltBytes), logRounds: logRounds,
                                 blockSize: blockSize, parallelism: parallelism)
            return false
        }
        let hash = try await derive(password, salt: parsed.salt, logRounds: parsed.logRounds, blockSize: parsed.blockSize,
                                    parallelism: parsed.parallelism)
        // Constant time: every byte is compared whatever the first difference.
        guard hash.count == parsed.hash.count else { return false }
        return zip(hash, parsed.hash).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private struct Parsed {
        var logRounds: Int, blockSize: Int, parallelism: Int, salt: [UInt8], hash: [UInt8]

        init?(_ text: String) {
            let parts = text.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
            // Only parameters this code would choose: a tampered row cannot make a sign-in take minutes.
            guard parts.count == 6, parts[0] == "scrypt", let logRounds = Int(parts[1]), (10...20).contains(logRounds),
                  let blockSize = Int(parts[2]), (1...16).contains(blockSize), let parallelism = Int(parts[3]),
                  (1...4).contains(parallelism), let salt = Data(base64Encoded: parts[4]), let hash = Data(base64Encoded: parts[5]),
                  !salt.isEmpty, hash.count == PasswordHash.hashBytes else { return nil }
            (self.logRounds, self.blockSize, self.parallelism, self.salt, self.hash) = (logRounds, blockSize, parallelism, [UInt8](salt), [UInt8](hash))
        }
    }

    private static func derive(_ password: String, salt: [UInt8], logRounds: Int, blockSize: Int,
                               parallelism: Int) async throws -> [UInt8] {
        do {
            return try await derive(password, salt: salt, logRounds: logRounds, blockSize: blockSize, parallelism: parallelism, gated: gate)
        } catch is AsyncGate.Full {
            throw StoreError.busy("too many sign-ins at once; try again in a moment")
        }
    }

    private static func derive(_ password: String, salt: [UInt8], logRounds: Int, blockSize: Int,
                               parallelism: Int, gated gate: AsyncGate) async throws -> [UInt8] {
        try await gate.run {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
                Thread.detachNewThread {
                    continuation.resume(with: Result {
                        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: hashBytes,
                                                           rounds: 1 << logRounds, blockSize: blockSize, parallelism: parallelism)
                        return key.withUnsafeBytes { [UInt8]($0) }
                    })
                }
            }
        }
    }
}
