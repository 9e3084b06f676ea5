// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// The OpenCV modules the bridge uses, from the one list of them.
let openCVModules = ((try? String(contentsOfFile: Context.packageDirectory + "/Sources/CVBridge/opencv-modules", encoding: .utf8)) ?? "")
    .split(whereSeparator: \.isWhitespace).map(String.init)

let package = Package(
    name: "Affect",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "affect", targets: ["affect"]),
        .library(name: "AffectCore", targets: ["AffectCore"]),
        .library(name: "AffectVision", targets: ["AffectVision"]),
        .library(name: "AffectPipeline", targets: ["AffectPipeline"]),
        .library(name: "AffectStore", targets: ["AffectStore"]),
        // The WebRTC bridge, loaded by `affect` at run time (AffectWebRTC's WebRTCRuntime): only a machine
        // with GStreamer's development packages builds it (`make serve WEBRTC=1`, `make test`).
        .library(name: "GSTBridge", type: .dynamic, targets: ["GSTBridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C++ only, and dumb: OpenCV (and libjpeg, for JPEG's size and warnings) behind an extern "C" interface.
        // It links the OpenCV modules it uses one by one (Sources/CVBridge/opencv-modules, which bootstrap and
        // the fuzz build read too): Debian's opencv4.pc comes only with libopencv-dev, which pulls every
        // module's development package. CVBridge.cpp names the package of a missing module.
        .target(
            name: "CVBridge",
            exclude: ["opencv-modules"],
            cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4"])],
            linkerSettings: [.linkedLibrary("m"), .linkedLibrary("jpeg")] + openCVModules.map { .linkedLibrary("opencv_\($0)") }
        ),
        // GStreamer's compile and link flags (webrtcbin, SDP, GStreamer, GLib), from Debian's pkg-config files.
        .systemLibrary(name: "CGStreamer", pkgConfig: "gstreamer-webrtc-1.0",
                       providers: [.apt(["libgstreamer-plugins-bad1.0-dev", "libgstreamer-plugins-base1.0-dev"])]),
        // Plain C, dumb like CVBridge: one webrtcbin receiving pipeline per participant, frames out as I420.
        // Built into its own library (the GSTBridge product) and loaded through GSTBridgeLoader.
        .target(
            name: "GSTBridge",
            dependencies: ["CGStreamer", "GSTBridgeLoader"],
            cSettings: [.define("AGST_IMPLEMENTATION")],
            linkerSettings: ["gstapp-1.0", "gstrtp-1.0", "gstsdp-1.0", "gstvideo-1.0"].map { .linkedLibrary($0) }
        ),
        // The bridge's types, and its functions looked up in libGSTBridge.so at run time (dlopen): no GStreamer.
        .target(name: "GSTBridgeLoader", linkerSettings: [.linkedLibrary("dl")]),
        // Plain C, dumb like the bridge: runs the models' kernel programs (scripts/models/kernel_program.py).
        // Built here to be tested against cv::dnn; built for wasm32 for participants' browsers.
        .target(name: "InferenceKernel"),
        // Domain types and math. No I/O.
        .target(name: "AffectCore"),
        // Detectors, classifier, images and video sources. Never imports storage.
        .target(
            name: "AffectVision",
            dependencies: ["AffectCore", "CVBridge", "InferenceKernel", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Sampling and the frame-to-result loop.
        .target(
            name: "AffectPipeline",
            dependencies: [
                "AffectCore", "AffectVision",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // A participant's camera received over WebRTC: signalling, the receiving pipeline, and its frames as a
        // frame source on the stimulus clock. Never imports storage.
        .target(name: "AffectWebRTC", dependencies: ["AffectCore", "AffectVision", "GSTBridgeLoader"]),
        // Studies, consent, results and the audit log, with the privacy rules enforced on write.
        // Depends on AffectCore only: it never sees pixels, by construction.
        .target(
            name: "AffectStore",
            dependencies: [
                "AffectCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                // scrypt, for console passwords.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // The study platform (Hummingbird 2): API, participant capture over WebSocket, pages.
        // It joins vision and storage, but only minimised records cross from one to the other.
        .target(
            name: "AffectServer",
            dependencies: [
                "AffectCore", "AffectVision", "AffectPipeline", "AffectStore", "AffectReport", "AffectWebRTC",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The console's pages are Mustache templates rendered on the server.
                .product(name: "Mustache", package: "swift-mustache"),
                // `affect serve --tls-cert`: TLS on the server's own port, reloaded on SIGHUP.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Public"), .copy("Templates"), .copy("OpenAPI/openapi.json")]
        ),
        // Study reports: audience statistics, A/B comparison, moments; JSON, CSV and self-contained HTML.
        .target(
            name: "AffectReport",
            dependencies: ["AffectCore", "AffectStore"],
            resources: [.copy("Resources")]
        ),
        .executableTarget(
            name: "affect",
            dependencies: [
                "AffectCore", "AffectVision", "AffectPipeline", "AffectStore", "AffectServer", "AffectReport", "AffectWebRTC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `affect bench --websocket` acts as participant pages against a local server.
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AffectCoreTests", dependencies: ["AffectCore"]),
        .testTarget(name: "AffectReportTests", dependencies: ["AffectReport", "AffectTestSupport"]),
        .testTarget(name: "AffectPipelineTests", dependencies: ["AffectPipeline"]),
        .testTarget(name: "AffectWebRTCTests", dependencies: ["AffectWebRTC", "AffectVision", "AffectTestSupport"]),
        .testTarget(name: "AffectStoreTests", dependencies: ["AffectStore", "AffectTestSupport"]),
        .testTarget(
            name: "AffectServerTests",
            dependencies: [
                "AffectServer", "AffectVision", "AffectPipeline", "AffectTestSupport", "AffectWebRTC",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .target(name: "AffectTestSupport", dependencies: ["AffectStore"], path: "Tests/AffectTestSupport"),
        .testTarget(name: "AffectVisionTests", dependencies: ["AffectVision", "AffectPipeline", "AffectTestSupport", "CVBridge", "InferenceKernel"]),
        // Runs the built `affect` binary as a user would; depending on it makes `swift test` build it.
        .testTarget(name: "AffectCLITests", dependencies: [
            "affect", "AffectTestSupport", "AffectVision",
            // A participant page's protocol, spoken to a server process that a test kills and restarts.
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
    ],
    cxxLanguageStandard: .cxx17
)

// libFuzzer harnesses, built only for `make fuzz` and `make test` (AFFECT_FUZZ=1, scripts/fuzz): they link
// libFuzzer, so they are left out of ordinary builds.
// Only Affect's own targets are instrumented (coverage and AddressSanitizer), in the ordinary .build:
// the dependencies keep an ordinary debug build's flags there, so they are not compiled again, where
// `swift build --sanitize` would rebuild all of them (about 10 minutes of a 2-core CI run). swiftc keeps
// only the last -sanitize= it is given, so both sanitizers go in one flag.
if ProcessInfo.processInfo.environment["AFFECT_FUZZ"] == "1" {
    let sanitizers = "-sanitize=fuzzer,address"
    for target in package.targets where target.type == .regular && target.name.hasPrefix("Affect") && target.name != "AffectTestSupport" {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags([sanitizers])]
    }
    for target in package.targets where target.name == "CVBridge" {
        target.cxxSettings = (target.cxxSettings ?? []) + [.unsafeFlags(["-fsanitize=fuzzer-no-link,address"])]
    }
    let harness: [SwiftSetting] = [.unsafeFlags([sanitizers])]
    // lld: gold fails with "internal error in format_file_lineno" when it reports a link error here.
    let link: [LinkerSetting] = [.unsafeFlags([sanitizers, "-use-ld=lld"])]
    package.targets += [
        .target(name: "FuzzDriver", path: "Fuzz/Driver"),
        .executableTarget(name: "fuzz-frame-messages", dependencies: ["AffectVision", "FuzzDriver"], path: "Fuzz/FrameMessages",
                          swiftSettings: harness, linkerSettings: link),
        .executableTarget(name: "fuzz-request-bodies",
                          dependencies: ["AffectServer", "AffectStore", "AffectCore", "AffectPipeline", "FuzzDriver",
                                         .product(name: "Hummingbird", package: "hummingbird"),
                                         .product(name: "Logging", package: "swift-log"),
                                         .product(name: "NIOEmbedded", package: "swift-nio")],
                          path: "Fuzz/RequestBodies", swiftSettings: harness, linkerSettings: link),
    ]
    package.products += [.executable(name: "fuzz-frame-messages", targets: ["fuzz-frame-messages"]),
                         .executable(name: "fuzz-request-bodies", targets: ["fuzz-request-bodies"])]
}
