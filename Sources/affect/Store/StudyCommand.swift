import AffectCore
import AffectStore
import ArgumentParser
import Foundation

extension StudyContext: ExpressibleByArgument {}
extension ArticleFiveExemption: ExpressibleByArgument {}
extension ProcessingMode: ExpressibleByArgument {}
extension CaptureTransport: ExpressibleByArgument {}
extension AnalysisLocation: ExpressibleByArgument {}
extension WithdrawalPolicy: ExpressibleByArgument {}

/// Parses `happy,sad` into expressions.
struct EmotionListArgument: ExpressibleByArgument {
    var emotions: Set<Emotion>

    init?(argument: String) {
        var emotions = Set<Emotion>()
        for name in argument.split(separator: ",") {
            guard let emotion = Emotion(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else { return nil }
            emotions.insert(emotion)
        }
        self.emotions = emotions
    }

    static var defaultCompletionKind: CompletionKind { .list(Emotion.allCases.map(\.rawValue)) }
}

struct StudyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Create and inspect studies: what is analysed, why, how, and for how long.",
        subcommands: [Create.self, List.self, Show.self, Notice.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a study.",
            discussion: """
            The context decides whether the study is lawful: the EU AI Act, Art. 5(1)(f), prohibits \
            emotion recognition at work and in education, so workplace and education studies are \
            refused unless --exemption names a medical or safety reason (recorded in the audit log).

            --mode sets what may be stored, enforced when results are written:
              individual  per-face, per-frame scores with pseudonymous track ids
              aggregate   only averages over --window seconds per session (default 10)
              group       per-frame averages over all faces, no tracks (rooms, cameras)

            Prints the study as JSON. Participants see the notice `affect study notice` prints.

            Example:
              affect study create --name "Trailer A/B" --purpose "Which cut holds attention" \\
                --context media-research --mode aggregate --retention 30
            """
        )

        @Option(help: "A unique name.") var name: String
        @Option(help: "The purpose, in words participants will read.") var purpose: String
        @Option(help: "Where participants are: \(StudyContext.allCases.map(\.rawValue).joined(separator: ", ")).")
        var context: StudyContext
        @Option(help: "For workplace or education studies only: medical or safety.") var exemption: ArticleFiveExemption?
        @Option(help: "What may be stored: individual, aggregate or group.") var mode: ProcessingMode = .individual
        @Option(help: "Days derived data is kept after a session ends.") var retention: Int = 30
        @Option(name: .customLong("k"), help: "Smallest group any released aggregate may describe.") var k: Int = 5
        @Option(help: "Expressions never measured in this study, e.g. fear,disgust.") var exclude: EmotionListArgument?
        @Option(help: "Aggregate window in seconds (aggregate mode).") var window: Double = 10
        @Option(help: "Version label of the transparency notice.") var noticeVersion: String = "1"
        @Option(help: ArgumentHelp("On withdrawal: delete results, or keep-aggregates (add them anonymously to the study's window means first).",
                                   valueName: "delete|keep-aggregates"))
        var onWithdrawal: WithdrawalPolicy = .delete
        @Flag(help: "Let participants see their own results live on the capture page (only what the mode stores).")
        var participantReadout = false
        @Flag(help: "Also measure head pose, gaze, eyes, mouth, blinks and attention (the landmark stage; the notice says so).")
        var measures = false
        @Option(help: ArgumentHelp("Where participants' pictures are analysed: server (the page sends frames), or device (their browser runs the models and sends only results).",
                                   valueName: "server|device"))
        var analysis: AnalysisLocation = .server
        @Flag(help: "With --analysis device: offer server analysis to participants whose browser cannot analyse on the device (they consent to it separately).")
        var deviceFallback = false
        @Option(help: ArgumentHelp("With --analysis device: frames per second each page analyses (1 to 30; default: the server's --device-fps).",
                                   valueName: "fps"))
        var deviceFps: Double?
        @Option(help: ArgumentHelp("With server analysis: how cameras reach the server: jpeg (snapshots over the page's WebSocket) or webrtc (an encrypted video track, each frame on the stimulus clock; browsers that cannot send one use jpeg).",
                                   valueName: "jpeg|webrtc"))
        var transport: CaptureTransport = .jpeg
        @Option(help: ArgumentHelp("With --transport webrtc: frames per second the camera track carries (1 to 30; default: the server's --webrtc-fps).",
                                   valueName: "fps"))
        var captureFps: Double?
        @Flag(help: "With --transport webrtc: analyse every frame the track carries (a timeline at --capture-fps) instead of sampling.")
        var everyFrame = false
        @Option(help: ArgumentHelp("Total differential-privacy budget ε for segment comparisons; each release spends part of it.",
                                   valueName: "ε"))
        var privacyBudget: Double?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let definition = StudyDefinition(
                    name: name, purpose: purpose, context: context, exemption: exemption, mode: mode,
                    retentionDays: retention, kAnonymity: k, excludedEmotions: exclude?.emotions ?? [],
                    windowMilliseconds: window * 1000, noticeVersion: noticeVersion, onWithdrawal: onWithdrawal,
                    participantReadout: participantReadout, privacyBudget: privacyBudget, measures: measures,
                    analysis: analysis, deviceFallback: deviceFallback, deviceFramesPerSecond: deviceFps,
                    transport: transport, captureFramesPerSecond: captureFps, everyFrame: everyFrame)
                // Checked before the database is opened: a refused study touches nothing.
                do { try definition.validate() } catch { throw StoreError.invalidStudy(String(describing: error)) }
                let store = try await database.open()
                let study = try await store.createStudy(definition, actor: DatabaseOptions.actor)
                try JSONOutput.print(study)
                Console.info("affect: created study \(study.id) (\(study.definition.mode.rawValue) mode)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List studies as JSON lines.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                for study in try await store.studies() { try JSONOutput.printLine(study) }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one study, with its sessions, as JSON.")
        @Argument(help: "Study id or name.") var study: String
        @OptionGroup var database: DatabaseOptions

        struct Shown: Encodable {
            var study: Study
            var sessions: [Session]
        }

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let found = try await store.study(study)
                try JSONOutput.print(Shown(study: found, sessions: try await store.sessions(study: found.id)))
            }
        }
    }

    struct Notice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the transparency notice participants read before consenting.",
            discussion: "Generated from the study, so it always matches what is enforced. Consent records keep its SHA-256.")
        @Argument(help: "Study id or name.") var study: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                print(TransparencyNotice.text(for: try await store.study(study).definition))
            }
        }
    }
}
