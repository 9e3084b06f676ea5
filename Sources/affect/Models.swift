import AffectVision
import ArgumentParser
import Foundation

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models with their provenance, licence and verified hashes.",
        discussion: """
        Every model is built by scripts/bootstrap from a pinned PyPI wheel and checked \
        against the SHA-256 in models/manifest.json; a model whose bytes differ is refused.
        """
    )

    @Option(help: "Output format: text or json.")
    var format: TextOrJSON = .text

    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?

    func run() throws {
        try CommandFailure.reporting {
            let catalog = try ModelCatalog(directory: models)
            var verified: [String: Bool] = [:]
            var problems: [String] = []
            for model in catalog.manifest.models {
                do {
                    _ = try catalog.verifiedModel(named: model.name)
                    verified[model.name] = true
                } catch {
                    verified[model.name] = false
                    problems.append(String(describing: error))
                }
            }
            switch format {
            case .json:
                struct Entry: Encodable {
                    var model: ModelManifest.Model
                    var verified: Bool
                    var path: String
                }
                let entries = catalog.manifest.models.map {
                    Entry(model: $0, verified: verified[$0.name] ?? false,
                          path: (catalog.directory as NSString).appendingPathComponent($0.file))
                }
                try JSONOutput.print(entries)
            case .text:
                print("models in \(catalog.directory)")
                for model in catalog.manifest.models {
                    print("""

                    \(model.name) (\(model.role)) \(verified[model.name] == true ? "verified" : "NOT VERIFIED")
                      file      \(model.file)
                      sha256    \(model.sha256)
                      source    \(model.source.wheel) : \(model.source.member)
                      wheel     sha256 \(model.source.wheelSHA256)
                      converter \(model.converter)
                      input     \(model.input.width > 0 ? "\(model.input.width)x\(model.input.height)" : "any (multiples of 32)") \(model.input.colour), \(model.input.normalisation)
                      classes   \(model.classes.joined(separator: ", "))
                      licence   \(model.licence)
                      trained   \(model.trainingData)
                    """)
                }
            }
            if !problems.isEmpty {
                for problem in problems { Console.error(problem) }
                throw ExitCode(78)
            }
        }
    }
}

enum TextOrJSON: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
