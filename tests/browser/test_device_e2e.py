"""A device-analysis study end to end in a real headless Chromium: the participant's browser analyses
its own camera frames and no picture leaves it.

A real `affect serve` with the real models, the wasm kernel and SQLite; Chromium's fake
camera plays a talking-head clip; the stimulus is another clip. The test reads Chromium's own network
log (DevTools events) to check that the page sent no binary WebSocket message (frames are binary) and
only text messages of results; that results arrive on the stimulus clock at the study's 30 fps; that the
dashboard's feed, the subject export and the study report show them, marked as device analysis; and
that withdrawal deletes them. It prints the page's measured cost per frame and the timeline's rate.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -p test_device_e2e.py -v
"""

import json
import os
import statistics
import unittest

from browser_support import (SCREENSHOTS, StudyServer, StudyServerTestCase, camera_file, chromium, missing_prerequisites,
                             stimulus_file)

STIMULUS_SECONDS = 6
MISSING = missing_prerequisites("device-analysis browser test")


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class DeviceStudyEndToEnd(StudyServerTestCase):
    work_prefix = "affect-device-"

    @classmethod
    def start(cls):
        cls.camera = camera_file(cls.work)
        cls.stimulus = stimulus_file(cls.work, STIMULUS_SECONDS)
        cls.server = StudyServer(cls.work, "--workers", "1")
        cls.url = cls.server.url
        cls.participant = cls.browser(cls.camera, network_log=True)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    def consent_and_start(self, link):
        from selenium.webdriver.common.by import By
        driver = self.participant
        driver.get(self.url + link)
        self.wait(lambda: self.state() == "briefing", message="the briefing")
        notice = driver.find_element(By.ID, "notice").text
        self.assertIn("analysed in your own browser", notice)
        driver.find_element(By.ID, "agree").click()
        driver.find_element(By.ID, "consent").click()
        self.wait(lambda: self.state() == "camera", message="the camera preview")
        driver.find_element(By.ID, "start").click()
        self.wait(lambda: self.state() == "capturing", message="capture to start")
        return driver.execute_script("return document.body.dataset.participant")

    def test_device_study_sends_no_picture(self):
        from selenium.webdriver.common.by import By
        study = self.api("POST", "/api/v1/studies", {"name": "Device trailer", "purpose": "Which cut holds attention",
                                                      "context": "media-research", "mode": "individual",
                                                      "analysis": "device", "device_fps": 30})
        self.assertEqual(study["definition"]["analysis"], "device")
        stimulus = self.server.upload(study["id"], self.stimulus, "Cut", "A")
        invite = lambda: self.api("POST", f"/api/v1/studies/{study['id']}/invitations",
                                  {"stimulus_id": stimulus["id"], "hours": 1})["path"]

        participant = self.consent_and_start(invite())
        self.assertEqual(self.participant.execute_script("return document.body.dataset.analysis"), "device")
        self.assertEqual(self.participant.execute_script("return document.body.dataset.kernel"), "simd")
        self.assertIn("no picture of you is sent", self.participant.find_element(By.ID, "where-analysed").text)
        self.wait(lambda: self.state() == "finished", timeout=STIMULUS_SECONDS + 30, message="the stimulus to end")
        self.participant.save_screenshot(os.path.join(SCREENSHOTS, "participant-device.png"))

        # What the page sent: no binary message (a picture would be one), text messages of results only.
        sent = self.websocket_messages_sent()
        self.assertTrue(sent, "the network log shows the socket's messages")
        self.assertEqual([opcode for opcode, _ in sent if opcode != 1], [], "no binary WebSocket message was sent")
        kinds = [json.loads(payload)["type"] for _, payload in sent]
        self.assertEqual(kinds[0], "device")
        self.assertEqual(set(kinds), {"device", "results", "end"}, kinds)
        costs = [frame["cost_ms"] for _, payload in sent for frame in json.loads(payload).get("frames", [])]

        # Stored on the stimulus clock, at the asked rate.
        exported = self.affect("subject", "export", participant)
        session = exported["sessions"][0]
        self.assertEqual(session["session"]["status"], "completed")
        times = [row["time_milliseconds"] for row in session["face_results"]]
        self.assertTrue(all(0 <= t <= STIMULUS_SECONDS * 1000 + 100 for t in times), times)
        self.assertEqual(times, sorted(times))
        self.assertGreater(max(times) - min(times), (STIMULUS_SECONDS - 2) * 1000, "results cover the stimulus")
        gaps = [b - a for a, b in zip(times, times[1:])]
        rate = (len(times) - 1) / ((max(times) - min(times)) / 1000)
        print(f"\ndevice analysis in headless Chromium: {len(times)} results over {(max(times) - min(times)) / 1000:.1f} s "
              f"= {rate:.1f} fps (median gap {statistics.median(gaps):.1f} ms); page cost per frame median "
              f"{statistics.median(costs):.1f} ms, p95 {sorted(costs)[int(len(costs) * 0.95)]:.1f} ms")
        self.assertLessEqual(statistics.median(gaps), 40, "a 30 fps timeline: the median gap is one frame at 30 fps")
        provenance = json.dumps(exported)
        self.assertIn('"analysis":"device"', provenance.replace(" ", ""), "the export marks device analysis")

        # The dashboard's feed and the report show them.
        live = self.api("GET", "/api/v1/live")
        shown = next(s for s in live["sessions"] if s["status"]["session"] == session["session"]["id"])
        self.assertEqual([p["t_ms"] for p in shown["points"]], times)
        report = self.affect("report", "Device trailer", "--format", "json")
        self.assertTrue(any(p["configuration"].get("analysis") == "device" for p in report["provenance"]), report["provenance"])
        html = self.server.affect("report", "Device trailer", "--format", "html")[1]
        self.assertIn("analysed in participants' browsers", html, "the report says which scores came from devices, and their limits")

        # A second participant withdraws mid-stimulus: their results go.
        second = self.consent_and_start(invite())
        # Waited for through the participant's own export: the live feed also lists the other test's sessions.
        self.wait(lambda: sum(len(s["face_results"]) for s in self.affect("subject", "export", second)["sessions"]) > 0,
                  message="the second session to store results")
        self.participant.find_element(By.ID, "withdraw").click()
        self.participant.switch_to.alert.accept()
        self.wait(lambda: self.state() == "withdrawn", message="the withdrawal")
        self.assertEqual(sum(len(s["face_results"]) for s in self.affect("subject", "export", second)["sessions"]), 0)
        self.assertEqual([opcode for opcode, _ in self.websocket_messages_sent() if opcode != 1], [])

    def test_a_browser_without_webassembly_is_offered_server_analysis_only_where_the_study_allows(self):
        """Chromium with WebAssembly taken away before any page script runs stands for a browser that cannot
        analyse on the device."""
        from selenium.webdriver.common.by import By
        offering = self.api("POST", "/api/v1/studies", {"name": "Fallback trailer", "purpose": "Which cut holds attention",
                                                         "context": "media-research", "analysis": "device",
                                                         "device_fallback": True})
        strict = self.api("POST", "/api/v1/studies", {"name": "Strict trailer", "purpose": "Which cut holds attention",
                                                       "context": "media-research", "analysis": "device"})
        stimulus = self.server.upload(offering["id"], self.stimulus, "Cut", "A")
        offered_link = self.api("POST", f"/api/v1/studies/{offering['id']}/invitations",
                                {"stimulus_id": stimulus["id"], "hours": 1})["path"]
        strict_link = self.api("POST", f"/api/v1/studies/{strict['id']}/invitations", {"hours": 1})["path"]
        browser = chromium(self.camera, network_log=True)
        try:
            browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete globalThis.WebAssembly;"})
            state = lambda: browser.execute_script("return document.body.dataset.state")
            # A study that takes part only on the device: nobody can consent from this browser.
            browser.get(self.url + strict_link)
            self.wait(lambda: browser.execute_script("return document.body.dataset.deviceProblem"), message="the device check")
            self.assertIn("takes part only that way", browser.find_element(By.ID, "device-problem-text").text)
            self.assertTrue(browser.find_element(By.ID, "consent").get_attribute("disabled"))
            self.assertTrue(browser.find_element(By.ID, "agree").get_attribute("disabled"))

            # A study that offers it: consent needs the separate agreement to send frames.
            browser.get(self.url + offered_link)
            self.wait(lambda: browser.execute_script("return document.body.dataset.deviceProblem"), message="the device check")
            self.assertIn("you would be asked separately", browser.find_element(By.ID, "notice").text)
            browser.find_element(By.ID, "agree").click()
            self.assertTrue(browser.find_element(By.ID, "consent").get_attribute("disabled"), "server analysis needs its own yes")
            browser.find_element(By.ID, "server-analysis").click()
            self.assertFalse(browser.find_element(By.ID, "consent").get_attribute("disabled"))
            browser.find_element(By.ID, "consent").click()
            self.wait(lambda: state() == "camera", message="the camera preview")
            participant = browser.execute_script("return document.body.dataset.participant")
            browser.find_element(By.ID, "start").click()
            self.wait(lambda: state() == "capturing", message="capture to start")
            self.assertEqual(browser.execute_script("return document.body.dataset.analysis"), "server")
            self.wait(lambda: int(browser.find_element(By.ID, "frames-sent").text) >= 3, message="frames to be sent")
            sent = []
            for entry in browser.get_log("performance"):
                event = json.loads(entry["message"])["message"]
                if event.get("method") == "Network.webSocketFrameSent":
                    sent.append(event["params"]["response"]["opcode"])
            self.assertIn(2, sent, "with the participant's consent, frames go to the server (binary messages)")
            self.wait(lambda: sum(len(s["face_results"]) for s in self.affect("subject", "export", participant)["sessions"]) > 0,
                      message="results of server analysis")
            consents = self.affect("subject", "export", participant)["consents"]
            self.assertIn("frames-to-server", consents[0]["purposes"])
        finally:
            browser.quit()


if __name__ == "__main__":
    unittest.main()
