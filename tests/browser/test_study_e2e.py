"""The study platform end to end in a real headless Chromium.

A real `affect serve` on 127.0.0.1 with the real models and SQLite; Chromium's fake camera plays a
real talking-head clip (converted to Y4M at test time, in a temporary folder that is removed); the
stimulus is another clip. The test goes through the API, the participant page and the dashboard as
people would, and checks the store through `affect subject export`.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -v   (Debian's python3-selenium)
"""

import glob
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFECT_SHARED_DATA") or os.path.join(os.path.dirname(ROOT), "shared", "data")
CAMERA_CLIP = os.path.join(SHARED, "talking-heads", "WDA_KatieHill_000.mp4")
STIMULUS_CLIP = os.path.join(SHARED, "talking-heads", "WDA_BobMenendez_000.mp4")
AFFECT = os.environ.get("AFFECT_BINARY") or os.path.join(ROOT, ".build", "debug", "affect")
SCREENSHOTS = os.path.join(ROOT, ".build", "e2e")
STIMULUS_SECONDS = 8


def missing_prerequisites():
    missing = []
    for path in (CAMERA_CLIP, STIMULUS_CLIP):
        if not os.path.exists(path):
            missing.append(f"evaluation clip {path}")
    if not os.path.exists(os.path.join(ROOT, "models", "manifest.json")):
        missing.append("models (run scripts/bootstrap)")
    if not os.access(AFFECT, os.X_OK):
        missing.append(f"the affect binary at {AFFECT} (swift build)")
    return missing


MISSING = missing_prerequisites()
if MISSING:
    sys.stderr.write("\n" + "*" * 66 + "\nSKIPPING browser end-to-end test: missing " + "; ".join(MISSING) + "\n" + "*" * 66 + "\n")


def ffmpeg(*arguments):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *arguments], check=True)


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class StudyEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from selenium import webdriver  # Debian's python3-selenium
        from selenium.webdriver.chrome.service import Service

        try:
            cls.start(webdriver, Service)
        except BaseException:
            # unittest skips tearDownClass when setUpClass fails: never leave a server or a browser behind.
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls, webdriver, Service):

        cls.work = tempfile.mkdtemp(prefix="affect-e2e-")
        cls.chromium_before = set(glob.glob("/tmp/org.chromium.Chromium.*"))
        # Chromium's fake camera needs a raw 4:2:0 file; it loops it.
        cls.camera = os.path.join(cls.work, "camera.y4m")
        ffmpeg("-i", CAMERA_CLIP, "-t", "4", "-an", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", cls.camera)
        cls.stimulus = os.path.join(cls.work, "stimulus.webm")
        ffmpeg("-i", STIMULUS_CLIP, "-t", str(STIMULUS_SECONDS), "-c:v", "libvpx", "-b:v", "400k", "-an", cls.stimulus)

        cls.database = os.path.join(cls.work, "data", "affect.sqlite")
        cls.server = subprocess.Popen(
            [AFFECT, "serve", "--port", "0", "--data", os.path.join(cls.work, "data"), "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        if not line:
            raise RuntimeError("affect serve did not start: " + cls.server.stderr.read())
        ready = json.loads(line)
        cls.url, cls.admin = ready["url"], ready["admin_token"]

        def chromium(camera):
            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1000",
                         "--autoplay-policy=no-user-gesture-required"):
                options.add_argument(flag)
            if camera:
                options.add_argument("--use-fake-ui-for-media-stream")
                options.add_argument("--use-fake-device-for-media-stream")
                options.add_argument(f"--use-file-for-fake-video-capture={camera}")
            return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)

        cls.participant = chromium(cls.camera)
        cls.dashboard = chromium(None)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        for driver in (getattr(cls, "participant", None), getattr(cls, "dashboard", None)):
            if driver:
                driver.quit()
        if getattr(cls, "server", None):
            cls.server.send_signal(signal.SIGTERM)
            try:
                cls.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.server.kill()
        shutil.rmtree(cls.work, ignore_errors=True)
        for folder in set(glob.glob("/tmp/org.chromium.Chromium.*")) - cls.chromium_before:
            shutil.rmtree(folder, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------

    def api(self, method, path, body=None, token=None):
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {token or self.admin}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def wait(self, condition, timeout=30, message="condition"):
        from selenium.common.exceptions import StaleElementReferenceException
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = condition()
            except StaleElementReferenceException:
                value = None  # a live page redrew what was being read: look again
            if value:
                return value
            time.sleep(0.2)
        self.fail(f"timed out after {timeout} s waiting for {message}")

    def state(self):
        return self.participant.execute_script("return document.body.dataset.state")

    def export(self, participant):
        result = subprocess.run([AFFECT, "subject", "export", participant, "--db", "sqlite:" + self.database],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def consent_and_start(self, link):
        from selenium.webdriver.common.by import By
        driver = self.participant
        driver.get(self.url + link)
        self.wait(lambda: self.state() == "briefing", message="the briefing")
        notice = driver.find_element(By.ID, "notice").text
        self.assertIn("probabilistic", notice)
        self.assertTrue(driver.find_element(By.ID, "consent").get_attribute("disabled"), "consent needs the checkbox")
        driver.find_element(By.ID, "agree").click()
        driver.find_element(By.ID, "consent").click()
        self.wait(lambda: self.state() == "camera", message="the camera preview")
        driver.find_element(By.ID, "start").click()
        self.wait(lambda: self.state() == "capturing", message="capture to start")
        return driver.execute_script("return document.body.dataset.participant")

    # --- the test ----------------------------------------------------------------------------

    def test_study_through_the_browser(self):
        from selenium.webdriver.common.by import By

        study = self.api("POST", "/api/v1/studies", {"name": "Trailer test", "purpose": "Which cut holds attention",
                                                      "context": "media-research", "mode": "individual"})
        # Uploaded, as a researcher would: the server never takes a path on its own disk (P6).
        with open(self.stimulus, "rb") as video:
            upload = urllib.request.Request(self.url + f"/api/v1/studies/{study['id']}/stimuli/upload?name=Cut&variant=A",
                                            method="POST", data=video.read())
        upload.add_header("Authorization", f"Bearer {self.admin}")
        with urllib.request.urlopen(upload, timeout=30) as response:
            stimulus = json.loads(response.read())
        link = self.api("POST", f"/api/v1/studies/{study['id']}/invitations", {"stimulus_id": stimulus["id"], "hours": 1})["path"]

        # The dashboard, signed in with the admin token, before anyone joins.
        dashboard = self.dashboard
        dashboard.get(self.url + "/dashboard")
        dashboard.find_element(By.ID, "token").send_keys(self.admin)
        dashboard.find_element(By.CSS_SELECTOR, "#login-form button").click()
        self.wait(lambda: dashboard.execute_script("return document.body.dataset.state") == "live", message="the dashboard to connect")
        self.wait(lambda: "Trailer test" in dashboard.find_element(By.ID, "studies").text,
                  message="the study among the dashboard's reports")

        participant = self.consent_and_start(link)
        self.assertTrue(participant.startswith("p_"))
        self.wait(lambda: int(self.participant.find_element(By.ID, "frames-sent").text) >= 5, message="frames to be sent")

        # The dashboard shows the session live, with a drawn timeline.
        # Read in the page: the dashboard redraws its rows on every event, so a row found here goes stale.
        session = self.wait(lambda: dashboard.execute_script(
            "const row = document.querySelector('tr.session-row[data-state=running]'); return row && row.dataset.session"),
            message="a running session on the dashboard")
        self.wait(lambda: dashboard.execute_script(
            "return [...document.querySelectorAll('#session-chart path.line')].some(p => p.getAttribute('d').length > 20)"),
            message="the session timeline to be drawn")
        self.participant.save_screenshot(os.path.join(SCREENSHOTS, "participant.png"))

        # Pausing stops the stimulus and the frames; resuming goes on where it stopped.
        sent_text = lambda: self.participant.find_element(By.ID, "frames-sent").get_attribute("textContent")
        self.participant.find_element(By.ID, "pause").click()
        self.wait(lambda: self.state() == "paused", message="the pause")
        paused_at, held = sent_text(), self.participant.execute_script("return document.getElementById('stimulus').currentTime")
        time.sleep(1.5)
        self.assertEqual(sent_text(), paused_at, "nothing is sent while paused")
        self.assertEqual(self.participant.execute_script("return document.getElementById('stimulus').currentTime"), held)
        self.participant.find_element(By.ID, "pause").click()
        self.wait(lambda: self.state() == "capturing", message="the resume")
        dashboard.save_screenshot(os.path.join(SCREENSHOTS, "dashboard-live.png"))
        self.assertTrue(dashboard.find_elements(By.CSS_SELECTOR, "#session-chart .legend text"), "the chart has a legend")

        # The stimulus plays to its end; the page ends the session.
        self.wait(lambda: self.state() == "finished", timeout=STIMULUS_SECONDS + 20, message="the stimulus to end")
        sent = int(self.participant.find_element(By.ID, "frames-sent").get_attribute("textContent"))
        self.wait(lambda: dashboard.find_elements(By.CSS_SELECTOR, f"tr.session-row[data-session={session}][data-state=ended]"),
                  message="the dashboard to show the session ended")
        dashboard.save_screenshot(os.path.join(SCREENSHOTS, "dashboard-ended.png"))

        # The store holds results on the stimulus clock: every time within the stimulus, in order, spread over it.
        exported = self.export(participant)
        self.assertEqual(len(exported["sessions"]), 1)
        stored = exported["sessions"][0]
        self.assertEqual(stored["session"]["id"], session)
        self.assertEqual(stored["session"]["stimulus_id"], stimulus["id"])
        self.assertEqual(stored["session"]["status"], "completed")
        times = [row["time_milliseconds"] for row in stored["face_results"]]
        self.assertGreaterEqual(len(times), 8, f"results from {sent} frames sent")
        self.assertTrue(all(0 <= t <= STIMULUS_SECONDS * 1000 + 100 for t in times), times)
        self.assertEqual(times, sorted(times))
        self.assertGreater(max(times) - min(times), (STIMULUS_SECONDS - 3) * 1000, "results cover the stimulus")
        live = self.api("GET", "/api/v1/live")
        shown = next(s for s in live["sessions"] if s["status"]["session"] == session)
        self.assertEqual([p["t_ms"] for p in shown["points"]], times, "the dashboard shows exactly what was stored")

        # A second participant withdraws from the page mid-stimulus: capture stops and the data goes.
        second_link = self.api("POST", f"/api/v1/studies/{study['id']}/invitations", {"stimulus_id": stimulus["id"], "hours": 1})["path"]
        second = self.consent_and_start(second_link)
        self.wait(lambda: any(s["status"]["records_written"] > 0 for s in self.api("GET", "/api/v1/live")["sessions"]
                              if s["status"]["session"] != session), message="the second session to store results")
        self.assertGreater(sum(len(s["face_results"]) for s in self.export(second)["sessions"]), 0)
        self.participant.find_element(By.ID, "withdraw").click()
        self.participant.switch_to.alert.accept()
        self.wait(lambda: self.state() == "withdrawn", message="the withdrawal")
        self.assertIn("deleted", self.participant.find_element(By.ID, "done-text").text)
        self.participant.save_screenshot(os.path.join(SCREENSHOTS, "participant-withdrawn.png"))
        after = self.export(second)
        self.assertEqual(after["sessions"], [], "withdrawal deletes the session and its results")
        self.assertTrue(all(c["withdrawn_at"] for c in after["consents"]))
        self.wait(lambda: len(dashboard.find_elements(By.CSS_SELECTOR, "tr.session-row")) == 1,
                  message="the withdrawn session to leave the dashboard")
        # The first participant's results are untouched.
        self.assertEqual(len(self.export(participant)["sessions"][0]["face_results"]), len(times))

        # A link that expires between consent and Start cannot open a session; the page says why
        # in words (a browser hides a refused handshake's answer, so the page asks again plainly).
        third_link = self.api("POST", f"/api/v1/studies/{study['id']}/invitations", {"stimulus_id": stimulus["id"], "hours": 1})["path"]
        driver = self.participant
        driver.get(self.url + third_link)
        self.wait(lambda: self.state() == "briefing", message="the third briefing")
        driver.find_element(By.ID, "agree").click()
        driver.find_element(By.ID, "consent").click()
        self.wait(lambda: self.state() == "camera", message="the third camera preview")
        with sqlite3.connect(self.database, timeout=10) as database:
            database.execute("UPDATE invitations SET expires_at = 0 WHERE session_id IS NULL AND used_at IS NOT NULL")
        driver.find_element(By.ID, "start").click()
        self.wait(lambda: self.state() == "closed", message="the refusal to show")
        self.assertEqual(driver.find_element(By.ID, "message").text,
                         "The session could not start: this participant link has expired.")
        driver.save_screenshot(os.path.join(SCREENSHOTS, "participant-refused.png"))


if __name__ == "__main__":
    unittest.main()
