"""The study platform end to end in a real headless Chromium.

A real `affect serve` on 127.0.0.1 with the real models and SQLite; Chromium's fake camera plays a
real talking-head clip (converted to Y4M at test time, in a temporary folder that is removed); the
stimulus is another clip. The test goes through the API, the participant page and the dashboard as
people would, and checks the store through `affect subject export`.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -v   (Debian's python3-selenium)
"""

import json
import os
import sqlite3
import time
import unittest

from browser_support import (SCREENSHOTS, StudyServer, StudyServerTestCase, camera_file, missing_prerequisites,
                             stimulus_file, wait)

STIMULUS_SECONDS = 8
MISSING = missing_prerequisites("browser end-to-end test")


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class StudyEndToEnd(StudyServerTestCase):
    @classmethod
    def start(cls):
        cls.camera = camera_file(cls.work)
        cls.stimulus = stimulus_file(cls.work, STIMULUS_SECONDS)

        # The API calls below are a script's: an admin token from the command line.
        cls.server = StudyServer(cls.work, "--workers", "2")
        cls.url, cls.setup_url, cls.database = cls.server.url, cls.server.setup_url, cls.server.database

        cls.participant = cls.browser(cls.camera)
        cls.dashboard = cls.browser()
        os.makedirs(SCREENSHOTS, exist_ok=True)

    # --- helpers ---------------------------------------------------------------------------

    def api(self, method, path, body=None, token=None):
        return self.server.api(method, path, body, token)

    def wait(self, condition, timeout=30, message="condition"):
        return wait(self, condition, timeout, message)

    def state(self):
        return self.participant.execute_script("return document.body.dataset.state")

    def export(self, participant):
        status, out, err = self.server.affect("subject", "export", participant)
        self.assertEqual(status, 0, err)
        return json.loads(out)

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
        stimulus = self.server.upload(study["id"], self.stimulus, "Cut", "A")
        link = self.api("POST", f"/api/v1/studies/{study['id']}/invitations", {"stimulus_id": stimulus["id"], "hours": 1})["path"]

        # The live sessions page of the console, signed in as the first admin (through the setup link),
        # before anyone joins. Its old address leads there.
        dashboard = self.dashboard
        dashboard.get(self.setup_url)
        dashboard.find_element(By.ID, "name").send_keys("ada")
        dashboard.find_element(By.ID, "password").send_keys("correct horse battery")
        dashboard.find_element(By.ID, "confirm").send_keys("correct horse battery")
        dashboard.find_element(By.ID, "create-admin").click()
        self.wait(lambda: dashboard.execute_script("return document.body.dataset.page") == "studies", message="the studies page")
        dashboard.get(self.url + "/dashboard")
        self.wait(lambda: dashboard.execute_script("return document.body.dataset.state") == "live", message="the dashboard to connect")

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
        self.wait(lambda: sum(len(s["face_results"]) for s in self.export(second)["sessions"]) > 0,
                  message="the second session to store results")
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
