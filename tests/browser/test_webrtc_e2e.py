"""A study receiving the participant's camera over WebRTC, end to end in a real headless Chromium.

A real `affect serve` (WebRTC on 127.0.0.1 only) with the real models and SQLite; Chromium's fake camera
plays a talking-head clip at 30 fps and sends it as a VP8 track; the stimulus is another clip. The test
reads Chromium's own network log (DevTools events): the page sent no binary WebSocket message (no JPEG),
only signalling and clock pairs; results are stored on the stimulus clock, each at the media time the page
reported for its frame's RTP timestamp; the session's provenance says WebRTC; withdrawal deletes the data.
A browser without the encoded-frame API is placed on the stimulus clock through RTCP sender reports and the
page's wall-clock pairs (the first test measures that mapping against the exact one); a browser without
WebRTC sends JPEGs. A last test runs a 30 fps every-frame study and checks that the timeline's spacing
matches the frames sent.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -p test_webrtc_e2e.py -v
"""

import json
import os
import re
import shutil
import statistics
import time
import unittest
import urllib.request

from browser_support import CAMERA_CLIP, SCREENSHOTS, StudyServer, StudyServerTestCase, ffmpeg, missing_prerequisites, stimulus_file

STIMULUS_SECONDS = 6
PORTS = "41000-41099"
MISSING = missing_prerequisites("WebRTC browser test")
if not shutil.which("strace"):
    MISSING.append("strace (scripts/bootstrap installs it)")


def camera_file_30fps(folder):
    """Chromium's fake camera at 30 frames a second (it plays a Y4M at the rate its header gives)."""
    path = os.path.join(folder, "camera30.y4m")
    ffmpeg("-i", CAMERA_CLIP, "-t", "4", "-an", "-vf", "fps=30,scale=640:480", "-pix_fmt", "yuv420p",
           "-f", "yuv4mpegpipe", path)
    return path


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class WebRTCStudyEndToEnd(StudyServerTestCase):
    work_prefix = "affect-webrtc-"

    @classmethod
    def start(cls):
        cls.camera = camera_file_30fps(cls.work)
        cls.stimulus = stimulus_file(cls.work, STIMULUS_SECONDS)
        # Under strace, which records every file the server opens to write (zero retention of frames).
        cls.trace = os.path.join(cls.work, "files.trace")
        wrapper = ("strace", "-f", "--seccomp-bpf", "-qq", "-o", cls.trace, "-e",
                   "trace=open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,mkdir,mkdirat,truncate")
        cls.server = StudyServer(cls.work, "--workers", "2", "--webrtc-address", "127.0.0.1", "--webrtc-ports", PORTS,
                                 wrapper=wrapper)
        cls.url = cls.server.url
        cls.participant = cls.browser(cls.camera, extra=("--allow-loopback-in-peer-connection",), network_log=True)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    def study(self, name, **settings):
        study = self.api("POST", "/api/v1/studies", {"name": name, "purpose": "Which cut holds attention",
                                                      "context": "media-research", "mode": "individual",
                                                      "transport": "webrtc", **settings})
        self.assertEqual(study["definition"]["transport"], "webrtc")
        stimulus = self.server.upload(study["id"], self.stimulus, "Cut", "A")
        return lambda: self.api("POST", f"/api/v1/studies/{study['id']}/invitations",
                                {"stimulus_id": stimulus["id"], "hours": 1})["path"]

    def consent_and_start(self, link, driver=None, transport="webrtc"):
        from selenium.webdriver.common.by import By
        driver = driver or self.participant
        state = lambda: driver.execute_script("return document.body.dataset.state")
        driver.get(self.url + link)
        self.wait(lambda: state() == "briefing", message="the briefing")
        self.assertIn("encrypted video stream (WebRTC)", driver.find_element(By.ID, "notice").text)
        driver.find_element(By.ID, "agree").click()
        driver.find_element(By.ID, "consent").click()
        self.wait(lambda: state() == "camera", message="the camera preview")
        driver.find_element(By.ID, "start").click()
        self.wait(lambda: state() == "capturing", message="capture to start")
        self.assertEqual(driver.execute_script("return document.body.dataset.transport"), transport)
        return driver.execute_script("return document.body.dataset.participant")

    def run_to_the_end(self, link, driver=None):
        """Takes part until the stimulus ends; returns the participant, their one session's export, the
        clock pairs the page sent ({rtp: media ms}) and every message it sent."""
        driver = driver or self.participant
        driver.get_log("performance")  # what earlier tests' pages sent is not this one's
        participant = self.consent_and_start(link, driver)
        self.wait(lambda: driver.execute_script("return document.body.dataset.state") == "finished",
                  timeout=STIMULUS_SECONDS + 30, message="the stimulus to end")
        log = driver.get_log("performance")
        sent = self.websocket_messages_sent(log)
        self.assertTrue(sent, "the network log shows the socket's messages")
        # The server's ICE candidates are on 127.0.0.1 (--webrtc-address) and in --webrtc-ports.
        received = [json.loads(e["message"])["message"]["params"]["response"]["payloadData"] for e in log
                    if json.loads(e["message"])["message"].get("method") == "Network.webSocketFrameReceived"]
        candidates = [json.loads(text)["candidate"] for text in received if '"type":"ice"' in text.replace(" ", "")]
        candidates = [c for c in candidates if c]
        low, high = map(int, PORTS.split("-"))
        self.assertTrue(candidates, "the server sent its ICE candidates")
        for candidate in candidates:
            fields = candidate.split()
            self.assertEqual(fields[4], "127.0.0.1", candidate)
            self.assertTrue(low <= int(fields[5]) <= high, candidate)
        self.assertEqual([opcode for opcode, _ in sent if opcode != 1], [], "no binary WebSocket message (no JPEG) was sent")
        messages = [json.loads(payload) for _, payload in sent]
        self.assertEqual(messages[0]["type"], "webrtc-offer")
        self.assertLessEqual({m["type"] for m in messages}, {"webrtc-offer", "ice", "clock", "end"})
        pairs = {rtp: media for m in messages if m["type"] == "clock" for rtp, media in m.get("frames", [])}
        exported = self.affect("subject", "export", participant)
        return participant, exported["sessions"][0], pairs, messages

    def track_ended(self, session):
        """The fields of the server's "webrtc track ended" log line for a session."""
        with open(self.server.log) as log:
            for line in log:
                if "webrtc track ended" in line and session in line:
                    return dict(re.findall(r"(\w+)=(\S+)", line))
        with open(self.server.log) as log:
            tail = log.read()[-3000:]
        self.fail(f"no 'webrtc track ended' line for {session} in the server's log: {tail}")

    def files_written(self):
        """Every path the server (all its threads, GStreamer's included) opened to write, created, renamed
        or linked so far, from strace's log: {path: the call}."""
        written = {}
        with open(self.trace) as trace:
            for line in trace:
                call = re.match(r"\d+ (\w+)\((.*)\) = (-?\d+)", line.strip())
                if not call or call.group(3).startswith("-"):
                    continue
                name, arguments = call.group(1), call.group(2)
                if name.startswith("open") and not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_TMPFILE", arguments):
                    continue
                for path in re.findall(r'"((?:[^"\\]|\\.)*)"', arguments):
                    if path:
                        written[path] = line.strip()
        return written

    def test_a_webrtc_study_runs_on_the_stimulus_clock(self):
        from selenium.webdriver.common.by import By
        invite = self.study("WebRTC trailer", capture_fps=10, participant_readout=True)
        participant, session, pairs, _ = self.run_to_the_end(invite())
        # The participant saw their own stored results, as over JPEG.
        self.assertNotIn("hidden", self.participant.find_element(By.ID, "readout").get_attribute("class"))
        self.participant.save_screenshot(os.path.join(SCREENSHOTS, "participant-webrtc.png"))
        self.assertEqual(session["session"]["status"], "completed")
        times = [row["time_milliseconds"] for row in session["face_results"]]
        self.assertGreater(len(times), 10, "results came back over the WebRTC track")
        self.assertEqual(times, sorted(times))
        self.assertTrue(set(times) <= set(pairs.values()), "each result is at the media time the page gave its frame")
        self.assertTrue(all(0 <= t <= STIMULUS_SECONDS * 1000 + 100 for t in times), times)
        self.assertGreater(max(times) - min(times), (STIMULUS_SECONDS - 2) * 1000, "results cover the stimulus")
        report = self.affect("report", "WebRTC trailer", "--format", "json")
        self.assertTrue(any(p["configuration"].get("transport") == "webrtc" and p["configuration"].get("stimulus_clock") == "encoded-frames"
                            for p in report["provenance"]), report["provenance"])
        # The page also sent wall-clock pairs: the server measured the sender-report mapping against the exact one.
        residual = self.track_ended(session["session"]["id"])
        print(f"\nSender-report mapping against the exact one: median {residual['sender_report_residual_ms_median']} ms, "
              f"95th percentile {residual['sender_report_residual_ms_p95']} ms over {residual['sender_report_residual_frames']} frames")
        self.assertGreater(int(residual["sender_report_residual_frames"]), 10)
        self.assertLess(float(residual["sender_report_residual_ms_median"]), 50, "the fallback places frames close to their exact place")
        # Zero retention: while the track was received, decoded and analysed, the server wrote only its
        # database (SQLite's journal beside it), the stimulus uploaded before, and the directory they live in.
        data = os.path.realpath(self.server.data)
        allowed = lambda path: (path == data or os.path.basename(path).startswith("affect.sqlite")
                                or path.startswith(os.path.join(data, "stimuli"))
                                # GStreamer's plugin list, written once at start-up on a machine that has none.
                                or "/.cache/gstreamer-1.0/" in path)
        unexpected = sorted(line for path, line in self.files_written().items() if not allowed(os.path.realpath(path)))
        self.assertEqual(unexpected, [], "the WebRTC path opened no file for writing")
        sent_rate = len(pairs) / ((max(pairs.values()) - min(pairs.values())) / 1000)
        print(f"\nWebRTC, 10 fps track: {len(pairs)} frames reported at {sent_rate:.1f} fps, {len(times)} analysed")
        self.assertLess(sent_rate, 12, "the track runs at the study's rate, not the camera's 30")

        # A second participant withdraws mid-stimulus: their results go.
        second = self.consent_and_start(invite())
        self.wait(lambda: sum(len(s["face_results"]) for s in self.affect("subject", "export", second)["sessions"]) > 0,
                  message="the second session to store results")
        # Paused, the page reports no frame (its track is detached): the server receives none; resumed, it does.
        second_session = self.affect("subject", "export", second)["sessions"][0]["session"]["id"]
        received = lambda: next(s["status"]["frames_received"] for s in self.api("GET", "/api/v1/live")["sessions"]
                                if s["status"]["session"] == second_session)
        self.participant.find_element(By.ID, "pause").click()
        self.wait(lambda: self.state() == "paused", message="the pause")
        time.sleep(0.5)
        before = received()
        time.sleep(1.5)
        self.assertEqual(received(), before, "nothing is received while paused")
        self.participant.find_element(By.ID, "pause").click()
        self.wait(lambda: received() > before + 3, message="frames again after resuming")
        self.participant.find_element(By.ID, "withdraw").click()
        self.participant.switch_to.alert.accept()
        self.wait(lambda: self.state() == "withdrawn", message="the withdrawal")
        self.assertEqual(sum(len(s["face_results"]) for s in self.affect("subject", "export", second)["sessions"]), 0)

    def test_a_browser_without_the_encoded_frame_api_is_placed_through_sender_reports(self):
        """Chromium with `createEncodedStreams` taken away before any page script runs stands for a browser
        that cannot tell each frame's RTP timestamp (Firefox, Safari today): it still sends a WebRTC track,
        and reports the stimulus against its wall clock; the server places each frame through the browser's
        RTCP sender reports, and the session's provenance says so."""
        invite = self.study("WebRTC sender reports", capture_fps=10)
        browser = self.browser(self.camera, extra=("--allow-loopback-in-peer-connection",), network_log=True)
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                {"source": "delete RTCRtpSender.prototype.createEncodedStreams;"})
        _, session, pairs, messages = self.run_to_the_end(invite(), browser)
        self.assertEqual(pairs, {}, "no per-frame pairs without the encoded-frame API")
        wall = [media for m in messages if m["type"] == "clock" for _, media in m.get("wall", [])]
        self.assertGreater(len(wall), (STIMULUS_SECONDS - 1) * 5, "the page reported the stimulus on its wall clock")
        self.assertEqual(session["session"]["status"], "completed")
        times = [row["time_milliseconds"] for row in session["face_results"]]
        self.assertGreater(len(times), 10, "results came back over the WebRTC track")
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(0 <= t <= STIMULUS_SECONDS * 1000 + 100 for t in times), times)
        self.assertGreater(max(times) - min(times), (STIMULUS_SECONDS - 2) * 1000, "results cover the stimulus")
        # Each result is at most the extrapolation limit (300 ms) past a time the page reported.
        late = [t for t in times if not any(0 <= t - media <= 300 for media in wall)]
        self.assertEqual(late, [], "every result lies just after a time the page reported")
        gap = statistics.median(b - a for a, b in zip(times, times[1:]))
        self.assertTrue(80 <= gap <= 150, f"results are spaced like the 10 fps track's frames (median gap {gap:.1f} ms)")
        ended = self.track_ended(session["session"]["id"])
        self.assertEqual(ended["clock"], "sender-reports")
        self.assertGreater(int(ended["sender_reports"]), 0)
        report = self.affect("report", "WebRTC sender reports", "--format", "json")
        self.assertTrue(any(p["configuration"].get("transport") == "webrtc" and p["configuration"].get("stimulus_clock") == "sender-reports"
                            for p in report["provenance"]), report["provenance"])
        print(f"\nWebRTC through sender reports: {len(times)} results, median gap {gap:.1f} ms, "
              f"{ended['sender_reports']} sender reports, {len(wall)} wall-clock pairs")

    def test_a_browser_without_webrtc_sends_jpegs(self):
        """A browser without RTCPeerConnection (taken away before any page script runs) takes part with JPEGs,
        and the session's provenance records no WebRTC."""
        invite = self.study("WebRTC fallback")
        browser = self.browser(self.camera, network_log=True)
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.RTCPeerConnection;"})
        participant = self.consent_and_start(invite(), browser, transport="jpeg")
        self.wait(lambda: sum(len(s["face_results"]) for s in self.affect("subject", "export", participant)["sessions"]) > 0,
                  message="results from JPEG frames")
        opcodes = [json.loads(entry["message"])["message"]["params"]["response"]["opcode"]
                   for entry in browser.get_log("performance")
                   if json.loads(entry["message"])["message"].get("method") == "Network.webSocketFrameSent"]
        self.assertIn(2, opcodes, "frames went as binary JPEG messages")
        report = self.affect("report", "WebRTC fallback", "--format", "json")
        self.assertTrue(report["provenance"])
        self.assertFalse(any(p["configuration"].get("transport") == "webrtc" for p in report["provenance"]), report["provenance"])

    def test_an_every_frame_study_has_a_30_fps_timeline(self):
        invite = self.study("WebRTC every frame", capture_fps=30, every_frame=True)
        _, session, pairs, _ = self.run_to_the_end(invite())
        times = [row["time_milliseconds"] for row in session["face_results"]]
        frames = sorted(pairs.values())
        sent_gaps = [b - a for a, b in zip(frames, frames[1:])]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Next to each other on the timeline and next to each other on the track: where analysis kept up,
        # the timeline's spacing is the track's, one frame at 30 fps.
        position = {time: index for index, time in enumerate(frames)}
        adjacent = sum(1 for a, b in zip(times, times[1:]) if position[b] == position[a] + 1) / max(1, len(times) - 1)
        metrics = urllib.request.urlopen(self.server.url + "/metrics", timeout=10).read().decode()
        changes = re.search(r"^affect_ladder_changes_total (\S+)", metrics, re.M)
        latency = {q: v for q, v in re.findall(r'^affect_frame_latency_seconds\{quantile="([^"]+)"[^}]*\} (\S+)', metrics, re.M)}
        print(f"\nWebRTC every frame: {len(frames)} frames sent (median gap {statistics.median(sent_gaps):.1f} ms), "
              f"{len(times)} analysed (median gap {statistics.median(gaps):.1f} ms); {adjacent:.0%} of neighbours on the "
              f"timeline are neighbours on the track; load ladder changes so far: {changes.group(1) if changes else '?'}")
        self.assertTrue(set(times) <= set(frames), "each result is at the media time the page gave its frame")
        self.assertLessEqual(statistics.median(sent_gaps), 40, "the track carried 30 frames a second")
        # Frames encoded before the connection was up never reach the server, and a machine that cannot keep
        # up (a debug build on two cores with Chromium encoding beside it) may skip a few: most, not all.
        self.assertGreaterEqual(len(times), 0.8 * len(frames), "most frames sent were analysed")
        with open(self.server.log) as log:
            ladder = [line.strip() for line in log if "load ladder" in line or "webrtc track ended" in line]
        self.assertGreaterEqual(adjacent, 0.8, f"the timeline has the track's spacing: {ladder}")


if __name__ == "__main__":
    unittest.main()
