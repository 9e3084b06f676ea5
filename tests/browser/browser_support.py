"""What the browser tests share: where things are, what they need, a headless Chromium, waiting, a
study server."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFECT_SHARED_DATA") or os.path.join(os.path.dirname(ROOT), "shared", "data")
CAMERA_CLIP = os.path.join(SHARED, "talking-heads", "WDA_KatieHill_000.mp4")
# A talking head scored mostly neutral (happy at most 0.3 over its first seconds), and a face fer's own
# tests find happy (> 0.9): spliced into one camera, they make an audience moment.
NEUTRAL_CLIP = os.path.join(SHARED, "talking-heads", "WDA_EdMarkey0_000.mp4")
SMILE_IMAGE = os.path.join(SHARED, "fer-fixtures", "images", "justin.jpg")
STIMULUS_CLIP = os.path.join(SHARED, "talking-heads", "WDA_BobMenendez_000.mp4")
AFFECT = os.environ.get("AFFECT_BINARY") or os.path.join(ROOT, ".build", "debug", "affect")
SCREENSHOTS = os.path.join(ROOT, ".build", "e2e")


def missing_prerequisites(what):
    """The missing clips, models or binary; says so loudly on stderr when something is missing."""
    missing = [f"evaluation data {path}" for path in (CAMERA_CLIP, STIMULUS_CLIP, NEUTRAL_CLIP, SMILE_IMAGE) if not os.path.exists(path)]
    if not os.path.exists(os.path.join(ROOT, "models", "manifest.json")):
        missing.append("models (run scripts/bootstrap)")
    if not os.access(AFFECT, os.X_OK):
        missing.append(f"the affect binary at {AFFECT} (swift build)")
    if missing:
        sys.stderr.write("\n" + "*" * 66 + f"\nSKIPPING {what}: missing " + "; ".join(missing) + "\n" + "*" * 66 + "\n")
    return missing


def ffmpeg(*arguments):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *arguments], check=True)


def camera_file(folder):
    """Chromium's fake camera needs a raw 4:2:0 file; it loops it."""
    path = os.path.join(folder, "camera.y4m")
    ffmpeg("-i", CAMERA_CLIP, "-t", "4", "-an", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", path)
    return path


def smiling_camera_file(folder):
    """Two seconds of a neutral talking head, then two of a smiling face, looped by Chromium: every
    participant's face turns happy for two seconds in four, whatever the moment they start."""
    path = os.path.join(folder, "camera-smile.y4m")
    ffmpeg("-t", "2", "-i", NEUTRAL_CLIP, "-loop", "1", "-t", "2", "-i", SMILE_IMAGE, "-filter_complex",
           "[0:v]scale=512:512,setsar=1,fps=25[talk];"
           "[1:v]scale=512:512:force_original_aspect_ratio=decrease,pad=512:512:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25[smile];"
           "[talk][smile]concat=n=2:v=1:a=0,format=yuv420p", "-an", "-f", "yuv4mpegpipe", path)
    return path


def stimulus_file(folder, seconds):
    """The stimulus clip as WebM, which every Chromium plays."""
    path = os.path.join(folder, "stimulus.webm")
    ffmpeg("-i", STIMULUS_CLIP, "-t", str(seconds), "-c:v", "libvpx", "-b:v", "400k", "-an", path)
    return path


def chromium(camera=None, extra=(), network_log=False):
    """A headless Chromium (Debian's, through Debian's Selenium); with `camera`, that file is its camera;
    `extra` adds command-line flags; with `network_log`, `driver.get_log("performance")` returns the
    DevTools network events (WebSockets opened, frames sent)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1000",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    if camera:
        options.add_argument("--use-fake-ui-for-media-stream")
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={camera}")
    for flag in extra:
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def chromium_folders():
    return set(glob.glob("/tmp/org.chromium.Chromium.*"))


def remove_chromium_folders(before):
    """Each Chromium leaves a folder in /tmp behind: remove those made since `before`."""
    for folder in chromium_folders() - before:
        shutil.rmtree(folder, ignore_errors=True)


def wait(test, condition, timeout=30, message="condition"):
    """Polls `condition` until it is truthy (a page redrawn meanwhile is looked at again); fails `test` on timeout."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None
        except WebDriverException as error:
            # An element found just before the page was replaced: Chromium's driver reports it as an
            # inspector error rather than as a stale element. Anything else is a real failure.
            if "does not belong to the document" not in str(error):
                raise
            value = None
        if value:
            return value
        time.sleep(0.2)
    test.fail(f"timed out after {timeout} s waiting for {message}")


def stop(server):
    """SIGTERM, then SIGKILL if it does not end within 20 s."""
    import signal
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


class StudyServer:
    """A real `affect serve` on 127.0.0.1 over SQLite in `folder`/data (extra `flags` are passed on), with an
    admin token for the API calls a researcher's script would make. `stop()` ends it."""

    def __init__(self, folder, *flags, wrapper=()):
        """`wrapper` is a command the server runs under (strace, say)."""
        data = os.path.join(folder, "data")
        self.data = data
        self.database = os.path.join(data, "affect.sqlite")
        os.makedirs(data, exist_ok=True)
        made = subprocess.run([AFFECT, "tokens", "create", "--role", "admin", "--db", "sqlite:" + self.database],
                              capture_output=True, text=True, check=True)
        self.admin = json.loads(made.stdout)["secret"]
        # The server's log goes to a file (a pipe nobody reads would block the server once full).
        self.log = os.path.join(folder, "server.log")
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([*wrapper, AFFECT, "serve", "--port", "0", "--data", data, *flags],
                                            stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.process.stdout.readline()
        if not line:
            with open(self.log) as log:
                raise RuntimeError("affect serve did not start: " + log.read())
        ready = json.loads(line)
        self.url, self.setup_url = ready["url"], ready["setup_url"]

    def api(self, method, path, body=None, token=None):
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {token or self.admin}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def upload(self, study, path, name, variant):
        """Uploads a stimulus video as a researcher would (the server never takes a path on its own disk)."""
        with open(path, "rb") as video:
            request = urllib.request.Request(self.url + f"/api/v1/studies/{study}/stimuli/upload?name={name}&variant={variant}",
                                             method="POST", data=video.read())
        request.add_header("Authorization", f"Bearer {self.admin}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def affect(self, *arguments):
        """Runs `affect ARGUMENTS --db` on this server's database: (exit status, stdout, stderr)."""
        result = subprocess.run([AFFECT, *arguments, "--db", "sqlite:" + self.database], capture_output=True, text=True)
        return result.returncode, result.stdout, result.stderr

    def stop(self):
        stop(self.process)


class StudyServerTestCase(unittest.TestCase):
    """A test class with its own work folder (`cls.work`), a study server (`cls.server`, made by the
    subclass's `start()`) and headless Chromiums made with `cls.browser(...)`: all of them stopped and
    removed at the end, also when set-up fails half-way (unittest skips tearDownClass then)."""

    work_prefix = "affect-e2e-"

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix=cls.work_prefix)
        cls.chromium_before = chromium_folders()
        cls.drivers = []
        try:
            cls.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        raise NotImplementedError

    @classmethod
    def browser(cls, camera=None, extra=(), network_log=False):
        """A Chromium quit with the class (see `chromium`)."""
        driver = chromium(camera, extra, network_log)
        cls.drivers.append(driver)
        return driver

    # For subclasses with `cls.participant` (a Chromium) and `cls.server` (a StudyServer).

    def api(self, method, path, body=None):
        return self.server.api(method, path, body)

    def affect(self, *arguments):
        """`affect ARGUMENTS` on the server's database, which must succeed; its JSON output."""
        status, out, err = self.server.affect(*arguments)
        self.assertEqual(status, 0, err)
        return json.loads(out)

    def state(self):
        return self.participant.execute_script("return document.body.dataset.state")

    def wait(self, condition, timeout=30, message="condition"):
        return wait(self, condition, timeout, message)

    def websocket_messages_sent(self, log=None):
        """(opcode, payload) of every WebSocket message the participant's page sent since the log was last
        read, from Chromium's network log (the browser needs `network_log`), or from `log` read already."""
        sent = []
        for entry in self.participant.get_log("performance") if log is None else log:
            event = json.loads(entry["message"])["message"]
            if event.get("method") == "Network.webSocketFrameSent":
                frame = event["params"]["response"]
                sent.append((frame["opcode"], frame["payloadData"]))
        return sent

    @classmethod
    def tearDownClass(cls):
        for driver in getattr(cls, "drivers", []):
            driver.quit()
        if getattr(cls, "server", None):
            cls.server.stop()
        shutil.rmtree(getattr(cls, "work", ""), ignore_errors=True)
        remove_chromium_folders(getattr(cls, "chromium_before", chromium_folders()))
