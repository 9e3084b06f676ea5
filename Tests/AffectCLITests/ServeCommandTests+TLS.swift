import AffectTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// `affect serve --tls-cert/--tls-key` with certificates openssl makes at test time: HTTPS on the
/// server's port (HSTS sent, plain HTTP told to use https://), SIGHUP reloading a renewed certificate
/// and keeping the old one when the new files are bad, and one clear line for each bad input.
extension ServeCommandTests {
    /// Makes a self-signed certificate and key for 127.0.0.1 named `name`, valid for a day unless
    /// `from`/`until` (openssl's YYYYMMDDHHMMSSZ) say otherwise.
    static func certificate(_ name: String, in folder: URL, from: String? = nil, until: String? = nil) throws -> (cert: String, key: String) {
        let cert = folder.appendingPathComponent("\(name).pem").path, key = folder.appendingPathComponent("\(name)-key.pem").path
        let request = "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=\(name) "
            + "-addext subjectAltName=IP:127.0.0.1 -keyout '\(key)'"
        let script: String
        if let from, let until {
            // `openssl req -x509` has no start date: a throwaway CA database signs it with the dates asked.
            let ca = folder.appendingPathComponent("ca-\(name)").path
            script = """
            set -e; mkdir -p '\(ca)'; cd '\(ca)'; : > index.txt; echo 01 > serial
            printf '[ca]\\ndefault_ca=t\\n[t]\\ndatabase=index.txt\\nnew_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=p\\ncopy_extensions=copy\\n[p]\\ncommonName=supplied\\n' > ca.cnf
            \(request) -out request.csr 2>/dev/null
            openssl ca -batch -config ca.cnf -selfsign -keyfile '\(key)' -in request.csr -startdate \(from) -enddate \(until) -notext -out '\(cert)' 2>/dev/null
            """
        } else {
            script = "\(request) -x509 -days 1 -out '\(cert)' 2>/dev/null"
        }
        let made = try CommandRunner.shell(script)
        #expect(made.status == 0, "openssl: \(made.stderr)")
        return (cert, key)
    }

    /// `curl` over HTTPS trusting only `authority`: the status line and headers, or nil when the handshake fails.
    static func https(_ url: String, trusting authority: String) throws -> String? {
        let answer = try CommandRunner.shell("curl -sS -i --max-time 10 --cacert '\(authority)' '\(url)'")
        return answer.status == 0 ? answer.stdout : nil
    }

    @Test func badCertificateInputsEachGiveOneLineAndChangeNothing() throws {
        let folder = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try Self.certificate("good", in: folder)
        let other = try Self.certificate("other", in: folder)
        let expired = try Self.certificate("expired", in: folder, from: "20200101000000Z", until: "20200102000000Z")
        let early = try Self.certificate("early", in: folder, from: "20991201000000Z", until: "20991231000000Z")
        let missing = folder.appendingPathComponent("missing.pem").path
        let cases: [(arguments: [String], status: Int32, line: String)] = [
            (["--tls-cert", missing, "--tls-key", good.key], 66, "affect: --tls-cert \(missing): no such file"),
            (["--tls-cert", good.cert, "--tls-key", missing], 66, "affect: --tls-key \(missing): no such file"),
            (["--tls-cert", folder.path, "--tls-key", good.key], 66, "affect: --tls-cert \(folder.path) cannot be read (it is a directory)"),
            (["--tls-cert", good.key, "--tls-key", good.key], 78, "affect: --tls-cert \(good.key) holds no PEM certificate"),
            (["--tls-cert", good.cert, "--tls-key", good.cert], 78, "affect: --tls-key \(good.cert) holds no unencrypted PEM private key"),
            (["--tls-cert", good.cert, "--tls-key", other.key], 78,
             "affect: --tls-key \(other.key) is not the private key of the certificate in --tls-cert \(good.cert)"),
            (["--tls-cert", expired.cert, "--tls-key", expired.key], 78,
             "affect: the certificate in --tls-cert \(expired.cert) expired on 2020-01-02 00:00:00 UTC; renew it"),
            (["--tls-cert", early.cert, "--tls-key", early.key], 78,
             "affect: the certificate in --tls-cert \(early.cert) is not valid until 2099-12-01 00:00:00 UTC"),
            (["--tls-cert", good.cert], 64, "Error: --tls-cert needs --tls-key"),
            (["--trusted-proxy", "10.0.0.0/33"], 64, "Error: --trusted-proxy 10.0.0.0/33 is not an IP address or CIDR range"),
        ]
        let data = folder.appendingPathComponent("data")
        for (arguments, status, line) in cases {
            let result = try CommandRunner.affect(["serve", "--port", "0", "--data", data.path] + arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.contains("affect serve --help") }
            #expect(lines.count == 1 && lines[0].hasPrefix(line), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: data.path), "a refused start creates no database")
    }

    @Test func servesHTTPSAndReloadsTheCertificateOnSIGHUP() async throws {
        let folder = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try Self.certificate("first", in: folder)
        let renewed = try Self.certificate("renewed", in: folder)
        // The server reads the files it was given; a renewal replaces their contents.
        let cert = folder.appendingPathComponent("served.pem"), key = folder.appendingPathComponent("served-key.pem")
        try FileManager.default.copyItem(atPath: first.cert, toPath: cert.path)
        try FileManager.default.copyItem(atPath: first.key, toPath: key.path)
        let (server, ready, errors) = try start(data: folder.appendingPathComponent("data"),
                                                arguments: ["--tls-cert", cert.path, "--tls-key", key.path])
        defer { if server.isRunning { server.terminate() } }
        let url = try #require(ready["url"] as? String, "ready line: \(ready)")
        #expect(url.hasPrefix("https://127.0.0.1:"))
        #expect((ready["setup_url"] as? String)?.hasPrefix(url + "/setup/") == true)

        let head = try #require(try Self.https(url + "/healthz", trusting: first.cert), "HTTPS with the first certificate")
        #expect(head.hasPrefix("HTTP/1.1 200"))
        #expect(head.contains("Strict-Transport-Security: max-age=31536000"), "\(head)")
        #expect(try Self.https(url + "/healthz", trusting: renewed.cert) == nil, "the renewed one is not served yet")
        let plain = try await get(url.replacingOccurrences(of: "https://", with: "http://") + "/healthz")
        #expect(plain.0 == 400 && plain.1.contains("use the same address with https://"), "\(plain)")

        // Renewed: the next connection gets the new certificate, without a restart.
        try Data(contentsOf: URL(fileURLWithPath: renewed.cert)).write(to: cert)
        try Data(contentsOf: URL(fileURLWithPath: renewed.key)).write(to: key)
        kill(server.processIdentifier, SIGHUP)
        var served: String?
        for _ in 0..<50 where served == nil {
            served = try Self.https(url + "/healthz", trusting: renewed.cert)
            if served == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(served?.hasPrefix("HTTP/1.1 200") == true, "the renewed certificate is served after SIGHUP")
        // A bad renewal keeps the certificate in service and says why.
        try Data("not a certificate\n".utf8).write(to: cert)
        kill(server.processIdentifier, SIGHUP)
        try await Task.sleep(for: .seconds(1))
        #expect(server.isRunning)
        #expect(try Self.https(url + "/healthz", trusting: renewed.cert)?.hasPrefix("HTTP/1.1 200") == true)
        server.terminate()
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(said.contains("SIGHUP: reloaded the certificate from \(cert.path)"), "\(said)")
        #expect(said.contains("SIGHUP: kept the certificate in service: --tls-cert \(cert.path) holds no PEM certificate"), "\(said)")
        #expect(said.split(separator: "\n").filter { $0.contains(" error ") }.count == 1, "one error line, the bad renewal's: \(said)")
    }
}
