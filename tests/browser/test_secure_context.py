"""The participant page before consent, when the browser will not give it a camera (P11).

Browsers give the camera only to secure contexts: https://, or a loopback address. A participant link
opened over plain HTTP at another name (here `affect-test.invalid`, mapped to 127.0.0.1 by Chromium's
`--host-resolver-rules`, as a LAN address would be) must say so in plain words before consent, with
consent closed, instead of failing silently later. The same link at 127.0.0.1 (a secure context) shows
no problem: the check can fail both ways.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -p test_secure_context.py -v
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from browser_support import (AFFECT, SCREENSHOTS, camera_file, chromium, chromium_folders, missing_prerequisites,
                             remove_chromium_folders, stop, wait)

MISSING = missing_prerequisites("secure-context browser test")
TEST_HOST = "affect-test.invalid"


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class CameraBeforeConsent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="affect-secure-")
        cls.chromium_before = chromium_folders()
        data = os.path.join(cls.work, "data")
        os.makedirs(data)
        made = subprocess.run([AFFECT, "tokens", "create", "--role", "admin", "--db", "sqlite:" + os.path.join(data, "affect.sqlite")],
                              capture_output=True, text=True, check=True)
        cls.admin = json.loads(made.stdout)["secret"]
        cls.server = subprocess.Popen([AFFECT, "serve", "--port", "0", "--data", data, "--workers", "1"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        if not line:
            stop(cls.server)
            raise RuntimeError("affect serve did not start: " + cls.server.stderr.read())
        cls.url = json.loads(line)["url"]
        cls.port = cls.url.rsplit(":", 1)[1]
        cls.browser = chromium(camera_file(cls.work), extra=[f"--host-resolver-rules=MAP {TEST_HOST} 127.0.0.1"])

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.quit()
        if getattr(cls, "server", None):
            stop(cls.server)
        shutil.rmtree(cls.work, ignore_errors=True)
        remove_chromium_folders(cls.chromium_before)

    def api(self, method, path, body=None):
        request = urllib.request.Request(self.url + path, method=method, data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self.admin}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def page(self, key):
        return self.browser.execute_script(f"return document.body.dataset.{key}")

    def test_an_insecure_address_is_named_before_consent(self):
        from selenium.webdriver.common.by import By

        study = self.api("POST", "/api/v1/studies", {"name": "Trailer", "purpose": "Which cut holds attention",
                                                      "context": "media-research"})
        link = self.api("POST", f"/api/v1/studies/{study['id']}/invitations", {"hours": 1})["path"]

        # Over plain HTTP at a name that is not loopback: no secure context, no camera.
        self.browser.get(f"http://{TEST_HOST}:{self.port}{link}")
        wait(self, lambda: self.page("state") == "camera-problem", message="the camera problem before consent")
        problem = self.browser.find_element(By.ID, "camera-problem")
        self.assertEqual(problem.get_attribute("data-problem"), "insecure")
        self.assertIn("https://", problem.text)
        self.assertIn(f"http://{TEST_HOST}:{self.port}", problem.text, "the address is named")
        self.assertIn("Nothing has been recorded", problem.text)
        self.assertTrue(self.browser.find_element(By.ID, "agree").get_attribute("disabled"), "consent stays closed")
        self.assertTrue(self.browser.find_element(By.ID, "consent").get_attribute("disabled"))
        self.assertIn("Which cut holds attention", self.browser.find_element(By.ID, "notice").text, "the notice is still shown")
        os.makedirs(SCREENSHOTS, exist_ok=True)
        self.browser.save_screenshot(os.path.join(SCREENSHOTS, "participant-insecure.png"))

        # The same link at 127.0.0.1 is a secure context with a camera: no problem, consent opens.
        self.browser.get(self.url + link)
        wait(self, lambda: self.page("state") == "briefing", message="the briefing at a secure address")
        self.assertIn("hidden", self.browser.find_element(By.ID, "camera-problem").get_attribute("class"))
        self.browser.find_element(By.ID, "agree").click()
        self.assertFalse(self.browser.find_element(By.ID, "consent").get_attribute("disabled"))


if __name__ == "__main__":
    unittest.main()
