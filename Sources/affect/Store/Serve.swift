import AffectPipeline
import AffectServer
import AffectStore
import AffectVision
import AffectWebRTC
import ArgumentParser
import Foundation
import Logging
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the study server: researcher console, API, participant capture.",
        discussion: """
        Open the address it prints: the researcher console. On the first start (no admin yet) it prints a \
        one-time setup link instead, where the first admin chooses a password; then everything is done in \
        the console: studies, stimuli, participant links, live sessions, results, reports, reviews, users \
        and tokens. When the server listens, one JSON line goes to stdout:
          {"url": "http://127.0.0.1:8080", "setup_url": "http://127.0.0.1:8080/setup/..."}
        (setup_url only on the start that makes the link; --new-setup-link makes another while no admin \
        exists). For scripts, make an API token with \
        `affect tokens create` or in the console.

        Pages: / (the console: sign in), /p/SECRET (a participant's link). API: /api/v1 (Authorization: \
        Bearer TOKEN, or the console's sign-in), described at /openapi.json. Operations: /healthz, \
        /readyz, /metrics (Prometheus).

        Participants' webcam frames arrive over a WebSocket, are analysed in memory on a shared engine \
        (--workers threads) and never written anywhere; only what the study's mode keeps is stored. Without \
        models (see `affect models`) the server runs but refuses captures.

        Every connection is bounded: a request's head must arrive within --header-timeout and fit in \
        --max-header-bytes (else 431), a body may not fall silent for longer than --body-timeout, an idle \
        kept-alive connection closes after --idle-timeout, and past --max-connections new ones are answered \
        503. A capture frame's JPEG header is read before decoding: more pixels than --max-frame-pixels \
        close the socket (1009), a damaged frame closes it at once (1007).

        Several servers may share one PostgreSQL database (--db postgres://...): each is a node, every \
        dashboard shows every node's sessions, and a withdrawal on any node stops the capture wherever it \
        runs. Put a balancer in front that keeps a link's requests on one node (deploy/haproxy.cfg hashes \
        /p/SECRET); /readyz answers 503 while a node drains or is at capacity. Give the nodes one shared \
        --stimuli-dir. An SQLite file takes one server.

        HTTPS: browsers give a page the camera only over https:// (or on localhost), so participants on \
        other machines need it. Either the server speaks TLS itself (--tls-cert and --tls-key, PEM files: \
        HTTPS and WSS on --port, HSTS sent; `kill -HUP PID` reloads renewed files without a restart, and a \
        bad renewal keeps the old certificate in service), or a proxy terminates TLS in front of it: name \
        the proxy with --trusted-proxy so its X-Forwarded-Proto and X-Forwarded-For are believed (from \
        anyone else they are ignored), and the console's cookies are marked Secure and sign-in attempts \
        are counted per client rather than per proxy. README's "Deploying" section walks through both.

        Binds 127.0.0.1 unless --host says otherwise. Stop with Ctrl-C (SIGINT) or SIGTERM: the server \
        first asks each page to reconnect (close 1012) once its results are written, so on a cluster \
        the pages resume on the other nodes.
        """
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(help: "Data directory for the embedded SQLite database (default affect-data); ignored with --db.")
    var data: String?
    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp(
        "Folder of uploaded stimulus videos (default: DATA/stimuli). Several servers on one PostgreSQL share one folder (a shared volume; on Kubernetes a ReadWriteMany one).",
        valueName: "directory"))
    var stimuliDir: String?
    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?
    @Option(help: "Face detector for participant capture: blazeface (webcam distance, faster) or centerface.")
    var detector: DetectorKind = .blazeface
    @Option(help: "Analysis threads shared by all capture sessions (default: one per core).")
    var workers = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Largest frame a capture page may send, in bytes; larger ones close its socket (1009).")
    var maxFrameBytes = 2 * 1024 * 1024
    @Option(help: "Most frames per second one capture page may send, sustained; more closes its socket (1008).")
    var maxFps = 20.0
    @Option(help: ArgumentHelp("Frames per second pages analyse at in studies with analysis in the browser that set none (1 to 30; slower devices go slower).",
                               discussion: "Such a page may send results for up to 30 frames a second; more closes its socket (1008)."))
    var deviceFps = 15.0
    @Option(help: ArgumentHelp("Frames per second cameras send over WebRTC in studies with --transport webrtc that set none (1 to 30).",
                               valueName: "fps"))
    var webrtcFps = 15.0
    @Option(help: ArgumentHelp(
        "WebRTC sessions this server receives at once (each decodes its camera's every frame); more are refused with 503 and /readyz reports the node full. 0 turns WebRTC off: pages then send JPEGs.",
        valueName: "sessions"))
    var webrtcMaxSessions = 24
    @Option(help: ArgumentHelp(
        "A STUN or TURN server for WebRTC behind NAT, given to the server and to pages: stun:HOST:PORT, turn:HOST:PORT or turns:HOST:PORT; repeat for several. TURN's username and password come from AFFECT_TURN_USERNAME and AFFECT_TURN_PASSWORD.",
        valueName: "url"))
    var iceServer: [String] = []
    @Option(help: ArgumentHelp(
        "A local address WebRTC may receive on (repeat for several); default every interface but loopback. Tests on one machine give 127.0.0.1.",
        valueName: "address"))
    var webrtcAddress: [String] = []
    @Option(help: ArgumentHelp("Local UDP ports WebRTC may use, as MIN-MAX (open them in the firewall); default any.",
                               valueName: "min-max"))
    var webrtcPorts: String?
    @Option(help: "Most pixels (width x height) a capture frame's JPEG header may declare; more closes its socket (1009).")
    var maxFramePixels = PixelLimit.capture
    @Option(help: "Seconds a client has to send a request's head (request line and headers).")
    var headerTimeout = 10.0
    @Option(help: "Longest silence, in seconds, while a client sends a request body.")
    var bodyTimeout = 30.0
    @Option(help: "Seconds a kept-alive connection may wait idle for its next request.")
    var idleTimeout = 60.0
    @Option(help: "Largest request head (request line and headers) in bytes; larger ones get 431.")
    var maxHeaderBytes = 32 * 1024
    @Option(help: "Connections open at once (pages, sockets, dashboards); more get 503.")
    var maxConnections = 1024
    @Option(help: ArgumentHelp(
        "Seconds a capture session stays this server's without a renewal (renewed every third of it). A session whose server died becomes 'interrupted' this long after; a page may resume it through its link before and after.",
        valueName: "seconds"))
    var sessionLease: Double = Double(PrivacyStore.defaultSessionLeaseMilliseconds) / 1000
    @Option(help: ArgumentHelp(
        "Results a capture keeps in memory while the database does not answer (an outage, a restart). When they are this many, the page is asked to pause, and what it sends meanwhile is not analysed, until the database answers again.",
        valueName: "records"))
    var writeBuffer = SessionWriter.Batching().bufferLimit
    @Flag(help: "Print a new setup link for the first admin in place of an unused one (the old one stops working).")
    var newSetupLink = false
    @Flag(help: "Mark the console's sign-in cookie Secure on every request (it is anyway on requests that came over HTTPS: --tls-cert, or --trusted-proxy saying so).")
    var secureCookies = false
    @Option(help: ArgumentHelp(
        "PEM certificate chain (certificate first, then intermediates: a fullchain.pem) to serve HTTPS and WSS with; needs --tls-key. SIGHUP reloads it.",
        valueName: "file"))
    var tlsCert: String?
    @Option(help: ArgumentHelp("PEM private key of --tls-cert, unencrypted.", valueName: "file"))
    var tlsKey: String?
    @Option(help: ArgumentHelp(
        "Address or CIDR range (10.0.0.0/8, 2001:db8::/32) of a reverse proxy whose X-Forwarded-Proto and X-Forwarded-For to believe; repeat for several.",
        valueName: "cidr"))
    var trustedProxy: [String] = []
    @Option(help: ArgumentHelp(
        "Longest a capture's result waits to be committed with others, in milliseconds (batches also commit at 20 records). Shorter: pages hear sooner that their results are stored, at one transaction per batch.",
        valueName: "ms"))
    var commitDelay = 250.0

    struct Ready: Encodable {
        var url: String
        var setupURL: String?

        enum CodingKeys: String, CodingKey {
            case url
            case setupURL = "setup_url"
        }
    }

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
        if !(sessionLease >= 1 && sessionLease <= 3600) { throw ValidationError("--session-lease must be 1 to 3600 seconds") }
        if !(10...1_000_000).contains(writeBuffer) { throw ValidationError("--write-buffer must be 10 to 1000000 records") }
        if !(commitDelay >= 10 && commitDelay <= 5000) { throw ValidationError("--commit-delay must be 10 to 5000 ms") }
        if !(1...256).contains(workers) { throw ValidationError("--workers must be 1 to 256") }
        if !(1024...(64 * 1024 * 1024)).contains(maxFrameBytes) { throw ValidationError("--max-frame-bytes must be 1 KiB to 64 MiB") }
        if !(maxFps >= 1 && maxFps <= 120) { throw ValidationError("--max-fps must be 1 to 120") }
        if !(deviceFps >= 1 && deviceFps <= 30) { throw ValidationError("--device-fps must be 1 to 30") }
        if !(webrtcFps >= 1 && webrtcFps <= 30) { throw ValidationError("--webrtc-fps must be 1 to 30") }
        if !(0...10_000).contains(webrtcMaxSessions) { throw ValidationError("--webrtc-max-sessions must be 0 to 10000") }
        _ = try webRTCSettings()
        if !(10_000...100_000_000).contains(maxFramePixels) { throw ValidationError("--max-frame-pixels must be 10000 to 100000000") }
        for (name, seconds) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout), ("--idle-timeout", idleTimeout)]
        where !(seconds >= 0.1 && seconds <= 3600) {
            throw ValidationError("\(name) must be 0.1 to 3600 seconds")
        }
        if !(1024...(1024 * 1024)).contains(maxHeaderBytes) { throw ValidationError("--max-header-bytes must be 1 KiB to 1 MiB") }
        if !(1...1_000_000).contains(maxConnections) { throw ValidationError("--max-connections must be 1 to 1000000") }
        if trustedProxy.count > 64 { throw ValidationError("--trusted-proxy may be given at most 64 times") }
        for range in trustedProxy where AddressRange(range) == nil {
            throw ValidationError("--trusted-proxy \(range) is not an IP address or CIDR range (such as 10.0.0.0/8 or 192.0.2.10)")
        }
        // Checked last (the deployment test relies on it to know everything before it was accepted).
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError(tlsCert == nil ? "--tls-key needs --tls-cert (the certificate it belongs to)"
                                                 : "--tls-cert needs --tls-key (the certificate's private key)")
        }
    }

    /// The certificate, read and checked before anything else starts, so a bad one changes nothing.
    func tlsSource() throws -> TLSContextSource? {
        guard let tlsCert, let tlsKey else { return nil }
        return try TLSContextSource(files: TLSCertificateFiles(certificatePath: tlsCert, keyPath: tlsKey))
    }

    func run() async throws {
        try await CommandFailure.reportingAsync {
            let tls = try tlsSource()
            var options = database
            if options.location == nil, let data {
                options.location = "sqlite:" + (data as NSString).appendingPathComponent("affect.sqlite")
            }
            let store = try await options.open(sessionLeaseMilliseconds: Int64((sessionLease * 1000).rounded()))
            // One server per SQLite file; several servers share a PostgreSQL database.
            var serverLock: SQLiteServerLock?
            if case .sqlite(let path) = try options.resolved() {
                do {
                    serverLock = try SQLiteServerLock(databasePath: path)
                } catch let held as SQLiteServerLock.Held {
                    throw UsageError(message: held.description)
                }
            }
            defer { withExtendedLifetime(serverLock) {} }
            // Uploaded stimuli live beside the embedded database (or in --data with another database),
            // or in a folder of their own that several servers share.
            let stimulusDirectory = stimuliDir ?? StimulusLibrary.inDataDirectory(data).directory
            let retired = try await store.retiredStimulusCount()
            if retired > 0 {
                Console.info("affect: \(retired) stimuli named files on this server, which are no longer served; upload them again (POST /api/v1/studies/ID/stimuli/upload or affect stimulus add --file)")
            }
            var setupSecret: String?
            switch try await store.setupLink(replacing: newSetupLink, actor: DatabaseOptions.actor) {
            case .created(let secret): setupSecret = secret
            case .notNeeded: break
            case .pending:
                Console.info("affect: there is no admin yet, and the setup link printed at the first start is still unused; "
                    + "lost it? start with --new-setup-link for a new one, or run `affect users add NAME --role admin`")
            }
            let metrics = LiveMetrics()
            let (capture, engine) = startCapture(store: store, metrics: metrics)
            defer { _ = engine?.shutdown() }
            let host = self.host
            let setup = setupSecret
            // Hummingbird's own info lines would repeat ours; warnings and errors still show.
            var logger = Logger(label: "affect.server")
            logger.logLevel = .notice
            let limits = ConnectionLimits(headerTimeout: .milliseconds(Int64(headerTimeout * 1000)),
                                          bodyTimeout: .milliseconds(Int64(bodyTimeout * 1000)),
                                          idleTimeout: .milliseconds(Int64(idleTimeout * 1000)),
                                          maximumHeaderBytes: maxHeaderBytes, maximumConnections: maxConnections)
            var configuration = ServerConfiguration(host: host, port: port, stimulusDirectory: stimulusDirectory, connections: limits)
            configuration.secureCookies = secureCookies
            configuration.tls = tls
            configuration.trustedProxies = trustedProxy.compactMap(AddressRange.init)
            let scheme = configuration.scheme
            let app = buildApplication(configuration: configuration,
                                       store: store, capture: capture,
                                       metrics: metrics, logger: logger) { boundPort in
                let url = "\(scheme)://\(host):\(boundPort)"
                capture.node.address = url
                let setupURL = setup.map { "\(url)/setup/\($0)" }
                if let setupURL {
                    Console.info("affect: serving on \(url). First start: open \(setupURL) to choose the first admin's password (the link works once)")
                } else {
                    Console.info("affect: serving on \(url)")
                }
                if let line = try? JSONOutput.text(Ready(url: url, setupURL: setupURL), pretty: false) {
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
            }
            do {
                try await runNode(app, store: store, capture: capture, logger: logger)
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw UsageError(message: "\(host):\(port) is already in use (choose another --port)")
            }
        }
    }

    /// WebRTC as the options ask for it; nil when `--webrtc-max-sessions 0` turns it off.
    func webRTCSettings() throws -> WebRTCSettings? {
        guard webrtcMaxSessions > 0 else { return nil }
        var ports: ClosedRange<Int>?
        if let webrtcPorts {
            let bounds = webrtcPorts.split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, (1024...65535).contains(bounds[0]), bounds[0] <= bounds[1], bounds[1] <= 65535 else {
                throw ValidationError("--webrtc-ports is MIN-MAX, two ports from 1024 to 65535 (e.g. 40000-40999)")
            }
            ports = bounds[0]...bounds[1]
        }
        let servers: [ICEServer]
        do {
            servers = try iceServer.map { try ICEServer(parsing: $0) }
        } catch {
            throw ValidationError("--ice-server: \(error)")
        }
        for address in webrtcAddress where address.contains("/") || AddressRange(address) == nil {
            throw ValidationError("--webrtc-address takes an IP address, not \(address.prefix(60))")
        }
        return WebRTCSettings(iceServers: servers, addresses: webrtcAddress, ports: ports, maximumSessions: webrtcMaxSessions, framesPerSecond: webrtcFps,
                              maximumPixels: maxFramePixels)
    }

    /// The shared engine for participant capture, started; without models the server still runs.
    func startCapture(store: PrivacyStore, metrics: LiveMetrics) -> (CaptureService, LiveEngine?) {
        let settings = CaptureService.Settings(maximumFrameBytes: maxFrameBytes, maximumFramePixels: maxFramePixels,
                                               maximumFramesPerSecond: maxFps,
                                               batching: SessionWriter.Batching(maximumDelay: .milliseconds(Int64(commitDelay)),
                                                                                bufferLimit: writeBuffer),
                                               deviceFramesPerSecond: deviceFps, webRTC: try? webRTCSettings())
        do {
            let catalog = try ModelCatalog(directory: models)
            let (capture, engine) = try CaptureEngine.start(catalog: catalog, workers: workers, detector: detector,
                                                            settings: settings, store: store, metrics: metrics,
                                                            log: { Console.info("affect: \($0)") })
            return (capture, engine)
        } catch {
            Console.info("affect: participant capture is off: \(error)")
        }
        return (CaptureService(engine: nil, store: store, feed: LiveFeed(), provenance: Provenance(models: [:], configuration: [:]),
                               settings: settings), nil)
    }
}
