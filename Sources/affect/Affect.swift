import AffectCore
import AffectVision
import ArgumentParser
import CVBridge

@main
struct Affect: AsyncParsableCommand {
    static let version = AffectVersion.current

    static let configuration = CommandConfiguration(
        commandName: "affect",
        abstract: "Estimate facial expressions of emotion in images, video files and streams.",
        discussion: """
        Affect finds faces, then scores each face's appearance over seven expression \
        categories (angry, disgust, fear, happy, sad, surprise, neutral). Scores are \
        probabilities of how an expression *looks*, not statements about what anyone \
        feels. Frames stay in memory and are never written to disk.

        Examples:
          affect analyze talk.mp4 --output talk.jsonl
          affect analyze rtsp://127.0.0.1:8554/cam --fps 2 --format csv
          ffmpeg -i in.mp4 -f yuv4mpegpipe - | affect analyze -
          affect eval fer2013-publictest --no-detect
          affect bias faces/ --groups groups.csv --min-ratio 0.8
          affect agreement codes.csv results.jsonl
          affect bench talk.mp4 --detector blazeface

        Studies (consent, processing modes, retention, audit) live in a database:
        --db sqlite:PATH (default affect-data/affect.sqlite) or postgres://...
          affect study create --name Trailer --purpose "Which cut works" \\
            --context media-research
          affect consent record --study Trailer
          affect analyze webcam.mp4 --study Trailer --participant p_...
          affect audit verify
          affect serve                  # the study server and its API

        Exit codes: 0 success, 1 a check failed (affect bias under --min-ratio), 64 bad usage, 65 bad input data, \
        66 input or record missing, 69 stream or database unreachable, \
        70 internal error, 74 stream stopped, 77 no valid consent, \
        78 models missing or altered.
        """,
        version: "affect \(version) (OpenCV \(String(cString: cvb_opencv_version())))",
        subcommands: [Analyze.self, Eval.self, Bias.self, Agreement.self, Bench.self, Models.self, StudyCommand.self, StimulusCommand.self, ConsentCommand.self,
                      SubjectCommand.self, PurgeCommand.self, AuditCommand.self, ReportCommand.self, MomentsCommand.self, Serve.self,
                      JobsCommand.self, WorkerCommand.self, UsersCommand.self, TokensCommand.self]
    )
}
