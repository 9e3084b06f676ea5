"""A study over https:// and wss:// with the server's own certificate (P11).

openssl makes a throwaway certificate for a test host name (`affect-tls.invalid`, mapped to
127.0.0.1 by Chromium's `--host-resolver-rules`, so only HTTPS can make the page a secure context);
`affect serve --tls-cert --tls-key` serves it; headless Chromium ignores certificate errors for that
certificate's key only (`--ignore-certificate-errors-spki-list`), not for any other. The participant
consents, the capture runs over wss:// (read from Chromium's own network log) and its results are
stored on the stimulus clock; the API answers with HSTS and the console's cookie is Secure.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -p test_tls.py -v
"""

import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from browser_support import (AFFECT, SCREENSHOTS, camera_file, chromium, chromium_folders, missing_prerequisites,
                             remove_chromium_folders, stimulus_file, stop, wait)

MISSING = missing_prerequisites("HTTPS browser test")
TEST_HOST = "affect-tls.invalid"
STIMULUS_SECONDS = 5


def make_certificate(folder):
    """A self-signed certificate for TEST_HOST (and 127.0.0.1), valid for a day; returns the
    certificate's path, the key's, and the base64 SHA-256 of its public key (what Chromium's
    `--ignore-certificate-errors-spki-list` takes)."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", f"/CN={TEST_HOST}", "-addext", f"subjectAltName=DNS:{TEST_HOST},IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    public = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public, check=True, capture_output=True).stdout
    return cert, key, base64.b64encode(hashlib.sha256(der).digest()).decode()


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class StudyOverHTTPS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        cls.work = tempfile.mkdtemp(prefix="affect-tls-")
        cls.chromium_before = chromium_folders()
        cls.cert, key, spki = make_certificate(cls.work)
        cls.trust = ssl.create_default_context(cafile=cls.cert)
        data = os.path.join(cls.work, "data")
        os.makedirs(data)
        cls.database = os.path.join(data, "affect.sqlite")
        made = subprocess.run([AFFECT, "tokens", "create", "--role", "admin", "--db", "sqlite:" + cls.database],
                              capture_output=True, text=True, check=True)
        cls.admin = json.loads(made.stdout)["secret"]
        cls.server = subprocess.Popen([AFFECT, "serve", "--port", "0", "--data", data, "--workers", "2",
                                       "--tls-cert", cls.cert, "--tls-key", key],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        if not line:
            raise RuntimeError("affect serve did not start: " + cls.server.stderr.read())
        ready = json.loads(line)
        cls.port = ready["url"].rsplit(":", 1)[1]
        cls.local = f"https://127.0.0.1:{cls.port}"
        cls.url = f"https://{TEST_HOST}:{cls.port}"
        cls.setup_path = ready["setup_url"].split(cls.port, 1)[1]
        cls.browser = chromium(camera_file(cls.work), network_log=True,
                               extra=[f"--host-resolver-rules=MAP {TEST_HOST} 127.0.0.1",
                                      f"--ignore-certificate-errors-spki-list={spki}"])

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.quit()
        if getattr(cls, "server", None):
            stop(cls.server)
        shutil.rmtree(getattr(cls, "work", ""), ignore_errors=True)
        remove_chromium_folders(getattr(cls, "chromium_before", chromium_folders()))

    def request(self, method, path, body=None, raw=None, headers=None):
        """An API call to 127.0.0.1 over HTTPS, trusting the test certificate only."""
        request = urllib.request.Request(self.local + path, method=method,
                                         data=raw if raw is not None else None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self.admin}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        return urllib.request.urlopen(request, timeout=30, context=self.trust)

    def api(self, method, path, body=None, raw=None):
        with self.request(method, path, body, raw) as response:
            self.assertEqual(response.headers["Strict-Transport-Security"], "max-age=31536000")
            return json.loads(response.read() or b"null")

    def page(self, key):
        return self.browser.execute_script(f"return document.body.dataset.{key}")

    def web_sockets(self):
        """The WebSocket addresses Chromium opened, from its DevTools network log."""
        events = (json.loads(entry["message"])["message"] for entry in self.browser.get_log("performance"))
        return [event["params"]["url"] for event in events if event.get("method") == "Network.webSocketCreated"]

    def test_a_participant_takes_part_over_https_and_wss(self):
        from selenium.webdriver.common.by import By

        # The first admin's setup link, over HTTPS at the test host: the cookie comes back Secure.
        self.browser.get(self.url + self.setup_path)
        self.browser.find_element(By.ID, "name").send_keys("ada")
        self.browser.find_element(By.ID, "password").send_keys("correct horse battery")
        self.browser.find_element(By.ID, "confirm").send_keys("correct horse battery")
        self.browser.find_element(By.ID, "create-admin").click()
        wait(self, lambda: self.page("page") == "studies", message="the studies page")
        cookie = self.browser.get_cookie("affect_session")
        self.assertTrue(cookie and cookie["secure"] and cookie["httpOnly"], cookie)

        study = self.api("POST", "/api/v1/studies", {"name": "Trailer over TLS", "purpose": "Which cut holds attention",
                                                      "context": "media-research", "mode": "individual"})
        with open(stimulus_file(self.work, STIMULUS_SECONDS), "rb") as video:
            stimulus = self.api("POST", f"/api/v1/studies/{study['id']}/stimuli/upload?name=Cut&variant=A", raw=video.read())
        link = self.api("POST", f"/api/v1/studies/{study['id']}/invitations", {"stimulus_id": stimulus["id"], "hours": 1})["path"]

        driver = self.browser
        driver.get(self.url + link)
        wait(self, lambda: self.page("state") == "briefing", message="the briefing (a secure context over HTTPS)")
        self.assertTrue(driver.execute_script("return window.isSecureContext"))
        driver.find_element(By.ID, "agree").click()
        driver.find_element(By.ID, "consent").click()
        wait(self, lambda: self.page("state") == "camera", message="the camera preview")
        driver.find_element(By.ID, "start").click()
        wait(self, lambda: self.page("state") == "capturing", message="capture to start")
        participant = self.page("participant")
        wait(self, lambda: self.page("state") == "finished", timeout=STIMULUS_SECONDS + 25, message="the stimulus to end")
        os.makedirs(SCREENSHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SCREENSHOTS, "participant-https.png"))

        sockets = self.web_sockets()
        self.assertTrue(sockets, "the page opened a WebSocket")
        self.assertTrue(all(url.startswith(f"wss://{TEST_HOST}:{self.port}/p/") for url in sockets), sockets)

        exported = subprocess.run([AFFECT, "subject", "export", participant, "--db", "sqlite:" + self.database],
                                  capture_output=True, text=True)
        self.assertEqual(exported.returncode, 0, exported.stderr)
        stored = json.loads(exported.stdout)["sessions"]
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]["session"]["status"], "completed")
        times = [row["time_milliseconds"] for row in stored[0]["face_results"]]
        self.assertGreaterEqual(len(times), 5, "results arrived over wss://")
        self.assertTrue(all(0 <= t <= STIMULUS_SECONDS * 1000 + 100 for t in times), times)
        self.assertEqual(times, sorted(times), "on the stimulus clock, in order")

    def test_plain_http_on_the_tls_port_is_told_to_use_https(self):
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10)
        self.assertEqual(refused.exception.code, 400)
        self.assertIn("https://", refused.exception.read().decode())


if __name__ == "__main__":
    unittest.main()
