// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Affect",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "affect", targets: ["affect"]),
        .library(name: "AffectCore", targets: ["AffectCore"]),
        .library(name: "AffectVision", targets: ["AffectVision"]),
        .library(name: "AffectPipeline", targets: ["AffectPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // OpenCV's compile and link flags, from Debian's pkg-config file.
        .systemLibrary(name: "COpenCV", pkgConfig: "opencv4", providers: [.apt(["libopencv-dev"])]),
        // C++ only, and dumb: OpenCV behind an extern "C" interface.
        .target(
            name: "CVBridge",
            dependencies: ["COpenCV"],
            linkerSettings: [.linkedLibrary("m")]
        ),
        // Domain types and math. No I/O.
        .target(name: "AffectCore"),
        // Detectors, classifier, images and video sources. Never imports storage.
        .target(
            name: "AffectVision",
            dependencies: ["AffectCore", "CVBridge", .product(name: "Crypto", package: "swift-crypto")]
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
        .executableTarget(
            name: "affect",
            dependencies: [
                "AffectCore", "AffectVision", "AffectPipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "AffectCoreTests", dependencies: ["AffectCore"]),
        .testTarget(name: "AffectPipelineTests", dependencies: ["AffectPipeline"]),
        .target(name: "AffectTestSupport", path: "Tests/AffectTestSupport"),
        .testTarget(name: "AffectVisionTests", dependencies: ["AffectVision", "AffectPipeline", "AffectTestSupport"]),
        // Runs the built `affect` binary as a user would; depending on it makes `swift test` build it.
        .testTarget(name: "AffectCLITests", dependencies: ["affect", "AffectTestSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
