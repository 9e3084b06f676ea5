/// The notice participants read before they consent (EU AI Act Art. 50: people exposed to
/// an emotion recognition system must be told; GDPR Art. 13: what, why, how long, their rights).
///
/// Generated from the study definition so it cannot drift from what the store enforces.
/// Consent records keep the SHA-256 of the exact text shown.
public enum TransparencyNotice {
    public static func text(for study: StudyDefinition) -> String {
        let kept: String = switch study.mode {
        case .individual: "estimates for each analysed video frame, linked to a random participant code"
        case .aggregate:
            "only averages over \(Int(study.windowMilliseconds / 1000))-second windows; frame-by-frame estimates are discarded in memory"
        case .group: "only per-frame averages over everyone in view, with no per-person values"
        }
        var lines = [
            "Study: \(study.name)",
            "Purpose: \(study.purpose)",
            "",
            "This study uses an emotion recognition system. While you take part, your camera image is analysed "
                + "by software that estimates which of seven facial expressions (angry, disgust, fear, happy, sad, "
                + "surprise, neutral) your face resembles.",
            "These are probabilistic estimates of how a face looks, not measurements of what you feel, and they are "
                + "never used to make decisions about you.",
            study.analysis == .device
                ? "Your camera image is analysed in your own browser, on this device: no picture of you is sent "
                    + "anywhere, only the estimates. What is kept: \(kept)."
                    + (study.deviceFallback
                        ? " If your browser cannot do this, you may choose instead to have your camera image sent to the "
                            + "study's server, analysed there in memory and never stored; you would be asked separately."
                        : "")
                : (study.transport == .webrtc
                    ? "Your camera image is sent to the study's server as an encrypted video stream (WebRTC), "
                        + "analysed there in memory and never stored. "
                    : "Your camera image is sent to the study's server, analysed there in memory and never stored. ")
                    + "What is kept: \(kept).",
            "Kept for \(study.retentionDays) days after your session, then deleted.",
            "Results are reported only for groups of at least \(study.kAnonymity) people.",
        ]
        if !study.excludedEmotions.isEmpty {
            let names = Emotion.allCases.filter(study.excludedEmotions.contains).map(\.rawValue).joined(separator: ", ")
            lines.append("Never measured in this study: \(names).")
        }
        if study.measures {
            lines.append("This study also estimates where your head and eyes point, how open your eyes and mouth are, "
                + "when you blink, and whether you are facing the screen (attention). These are estimates from the "
                + "picture too, kept as the study's mode allows.")
        }
        if study.participantReadout {
            lines.append("While you take part, you can see the estimates made from your own face.")
        }
        if let exemption = study.exemption {
            lines.append("Legal basis for use in this setting: \(exemption.rawValue) reasons (EU AI Act Art. 5(1)(f)).")
        }
        lines += [
            "You can exclude expressions you do not want measured, pause at any time, and withdraw: withdrawing stops "
                + (study.onWithdrawal == .delete
                    ? "the analysis at once and deletes your results."
                    : "the analysis at once and deletes your results, after adding them, without any link to you, to "
                        + "this study's group averages.")
                + " You can ask for a copy of everything held about you.",
            "Notice version \(study.noticeVersion).",
        ]
        return lines.joined(separator: "\n")
    }
}
