import AffectCore
import AffectServer
import AffectStore
import AffectVision
import ArgumentParser
import Foundation

/// Turns errors into one line on stderr and a sysexits-style exit code.
enum CommandFailure {
    static func exitCode(for error: VisionError) -> Int32 {
        switch error {
        case .inputMissing, .cameraMissing: 66
        case .inputEmpty, .inputUnreadable, .imageUndecodable, .imageUnreadable, .imageTooLarge, .imageCorrupt, .streamCorrupt: 65
        case .unsupportedScheme: 64
        case .streamUnreachable: 69
        case .streamStalled: 74
        case .modelsMissing, .modelMissing, .modelHashMismatch, .manifestInvalid, .networkLoadFailed: 78
        case .inferenceFailed: 70
        }
    }

    /// Runs `body`, reporting any failure as `affect: <message>` and exiting with its code.
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VisionError {
            Console.error(error.description)
            throw ExitCode(exitCode(for: error))
        } catch let error as StoreError {
            Console.error(error.description)
            throw ExitCode(exitCode(for: error))
        } catch let error as UsageError {
            Console.error(error.message)
            throw ExitCode(64)
        } catch let error as TLSCertificateProblem {
            Console.error(error.description)
            throw ExitCode(error.kind == .unreadable ? 66 : 78)
        } catch let error as StimulusSource.Refusal {
            Console.error(error.description)
            throw ExitCode(64)
        } catch let error as InputRules.Violation {
            Console.error(error.description)
            throw ExitCode(64)
        } catch let error as ExitCode {
            throw error
        } catch {
            Console.error(String(describing: error))
            throw ExitCode(70)
        }
    }
}

/// A mistake in how the command was called, found after parsing.
struct UsageError: Error {
    var message: String
}
