"""README's HAProxy deployment with TLS, run for real: deploy/haproxy.cfg with AFFECT_TLS_PEM in front
of `affect serve --trusted-proxy 127.0.0.1`, a throwaway openssl certificate, all on 127.0.0.1.

HTTPS reaches the node through HAProxy; the node, believing the proxy's X-Forwarded-Proto, sends HSTS
and marks the console's cookie Secure; HAProxy's plain-HTTP port redirects to https://. The same
node reached directly (plain HTTP, no proxy headers) does neither: the test can fail both ways.

Run: python3 -m unittest discover -s tests/deploy -p test_haproxy_tls.py -v
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AFFECT = Path(os.environ.get("AFFECT_BINARY") or ROOT / ".build" / "debug" / "affect")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HAProxyWithTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path, what in ((AFFECT, "the affect binary (swift build)"), (Path(HAPROXY), "haproxy (scripts/bootstrap)")):
            if not path.exists():
                raise AssertionError(f"{path} is missing: {what}")
        cls.processes = []
        try:
            cls.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        cls.work = tempfile.mkdtemp(prefix="affect-haproxy-tls-")
        cert, key = os.path.join(cls.work, "cert.pem"), os.path.join(cls.work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        pem = os.path.join(cls.work, "haproxy.pem")
        with open(pem, "w") as combined:
            combined.write(Path(cert).read_text() + Path(key).read_text())
        cls.trust = ssl.create_default_context(cafile=cert)

        node = subprocess.Popen([str(AFFECT), "serve", "--port", "0", "--data", os.path.join(cls.work, "data"),
                                 "--trusted-proxy", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.processes.append(node)
        line = node.stdout.readline()
        if not line:
            raise RuntimeError("affect serve did not start: " + node.stderr.read())
        ready = json.loads(line)
        cls.node = urllib.parse.urlsplit(ready["url"]).netloc
        cls.setup_path = urllib.parse.urlsplit(ready["setup_url"]).path

        cls.tls_port, cls.redirect_port = free_port(), free_port()
        environment = dict(os.environ, AFFECT_LISTEN=f"127.0.0.1:{cls.tls_port}", AFFECT_TLS_PEM=pem,
                           AFFECT_REDIRECT_LISTEN=f"127.0.0.1:{cls.redirect_port}",
                           AFFECT_NODE_A=cls.node, AFFECT_NODE_B=cls.node, AFFECT_NODE_C=cls.node)
        cls.log = open(os.path.join(cls.work, "haproxy.log"), "w")
        cls.processes.append(subprocess.Popen([HAPROXY, "-f", str(ROOT / "deploy" / "haproxy.cfg"), "-db"],
                                              env=environment, stdout=cls.log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if cls.exchange("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("HAProxy did not answer over HTTPS: " + Path(cls.log.name).read_text())

    @classmethod
    def tearDownClass(cls):
        for process in reversed(getattr(cls, "processes", [])):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if getattr(cls, "log", None):
            cls.log.close()
        shutil.rmtree(getattr(cls, "work", ""), ignore_errors=True)

    @classmethod
    def exchange(cls, method, path, body=None, via="tls"):
        """One request: through HAProxy over HTTPS, to its redirect port, or straight to the node."""
        if via == "tls":
            connection = http.client.HTTPSConnection("127.0.0.1", cls.tls_port, context=cls.trust, timeout=10)
        elif via == "redirect":
            connection = http.client.HTTPConnection("127.0.0.1", cls.redirect_port, timeout=10)
        else:
            connection = http.client.HTTPConnection(cls.node, timeout=10)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = (response.status, response.headers, response.read().decode())
        connection.close()
        return answer

    def test_https_through_haproxy_marks_the_console_secure(self):
        status, headers, _ = self.exchange("GET", "/sign-in")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Strict-Transport-Security"], "max-age=31536000")
        # The first admin, set up through the balancer: the cookie is Secure.
        form = "name=ada&password=correct+horse+battery&confirm=correct+horse+battery"
        status, headers, body = self.exchange("POST", self.setup_path, body=form)
        self.assertEqual(status, 303, body)
        cookie = headers["Set-Cookie"]
        self.assertTrue(cookie.startswith("affect_session=") and cookie.endswith("; Secure"), cookie)

        # The node reached directly over plain HTTP, without a proxy's headers: neither.
        status, headers, _ = self.exchange("GET", "/sign-in", via="node")
        self.assertEqual(status, 200)
        self.assertIsNone(headers["Strict-Transport-Security"])

    def test_plain_http_is_redirected_to_https(self):
        status, headers, _ = self.exchange("GET", "/p/abc?x=1", via="redirect")
        self.assertEqual(status, 301)
        self.assertEqual(headers["Location"], f"https://127.0.0.1:{self.redirect_port}/p/abc?x=1")


if __name__ == "__main__":
    unittest.main()
