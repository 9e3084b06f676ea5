"""The server against its own OpenAPI document, with schemathesis (PyPI, pinned in .venv-tools).

A real `affect serve` on 127.0.0.1 with a throwaway data directory; schemathesis generates requests
from /openapi.json (valid and invalid ones, with and without the token) and checks every answer: no
5xx, every status and body as documented, invalid data refused, valid data accepted, 405 for methods a
path does not take. API_EXAMPLES (default 25) sets the examples per operation.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AFFECT = os.path.join(ROOT, ".build", "debug", "affect")
SCHEMATHESIS = os.path.join(ROOT, ".venv-tools", "bin", "schemathesis")

# Operations whose valid requests may be refused by state, not by shape: a participant link is
# single-use and can be withdrawn by another generated request, an upload's bytes must be a real video,
# a report by segment needs a release first in a study with a privacy budget, and a release needs
# a study with a budget.
CONFIG = """
# Every check (the command line would override the per-operation settings below, so it is set here).
checks.enabled = true
request-timeout = 20
max-stream-events = 1
headers = { Authorization = "Bearer ${AFFECT_TOKEN}" }

[parameters]
"path.study" = "${AFFECT_STUDY}"
"path.secret" = "${AFFECT_SECRET}"

[[operations]]
include-path-regex = "^/p/"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-path = ["/api/v1/studies/{study}/stimuli/upload", "/api/v1/studies/{study}/report", "/api/v1/studies/{study}/releases"]
checks.positive_data_acceptance.enabled = false
"""


class OpenAPIConformanceTest(unittest.TestCase):
    def setUp(self):
        for tool in (AFFECT, SCHEMATHESIS):
            if not os.path.exists(tool):
                self.fail(f"{tool} is missing: run make test (it builds affect and bootstraps .venv-tools)")
        self.work = tempfile.mkdtemp(prefix="affect-api-")
        data = os.path.join(self.work, "data")
        os.makedirs(data)
        # Scripts get their admin token from the command line (people use the console's setup link).
        made = subprocess.run([AFFECT, "tokens", "create", "--role", "admin", "--name", "schemathesis",
                               "--db", "sqlite:" + os.path.join(data, "affect.sqlite")], capture_output=True, text=True, cwd=ROOT)
        if made.returncode != 0:
            self.fail("affect tokens create failed: " + made.stderr)
        self.token = json.loads(made.stdout)["secret"]
        self.server = subprocess.Popen([AFFECT, "serve", "--port", "0", "--data", data],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.server.stdout.readline()
        if not line:
            self.fail("affect serve did not start: " + self.server.stderr.read())
        self.url = json.loads(line)["url"]

    def tearDown(self):
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()
        self.server.stdout.close()
        self.server.stderr.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def api(self, path, body):
        request = urllib.request.Request(self.url + path, method="POST", data=json.dumps(body).encode())
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def test_the_server_keeps_to_its_document(self):
        study = self.api("/api/v1/studies", {"name": "API fixture", "purpose": "Conformance", "context": "media-research", "k": 2})
        stimulus = self.api(f"/api/v1/studies/{study['id']}/stimuli", {"name": "Cut", "source": "https://cdn.example/cut.mp4"})
        link = self.api(f"/api/v1/studies/{study['id']}/invitations", {"stimulus_id": stimulus["id"], "hours": 1})
        config = os.path.join(self.work, "schemathesis.toml")
        with open(config, "w") as handle:
            handle.write(CONFIG)
        environment = dict(os.environ, AFFECT_TOKEN=self.token, AFFECT_STUDY=study["id"], AFFECT_SECRET=link["path"][3:],
                           NO_COLOR="1")
        result = subprocess.run(
            [SCHEMATHESIS, "--config-file", config, "run", self.url + "/openapi.json",
             "--phases", "examples,coverage,fuzzing", "--max-examples", os.environ.get("API_EXAMPLES", "25"),
             # One worker: schemathesis's workers are threads, and CPython 3.11 (Debian 12) shares the AST
             # constructor's recursion counter between threads, so two threads parsing at once fail with
             # "SystemError: AST constructor recursion depth mismatch" (cpython gh-106905), as CI did.
             "--workers", "1", "--no-color"],
            capture_output=True, text=True, env=environment, cwd=self.work, timeout=1200)
        summary = [line for line in result.stdout.splitlines() if "generated" in line or "passed" in line]
        print("\n".join(summary))
        self.assertEqual(result.returncode, 0, result.stdout[-12000:] + result.stderr[-2000:])


if __name__ == "__main__":
    unittest.main()
