"""A study report built from real talking-head clips, rendered in a real headless Chromium.

Six participants are enrolled with `affect consent record` and analysed with `affect analyze --study`
(each clip stands for one participant's face while watching): three watch variant A of a stimulus,
two variant B, one a second stimulus. With k = 2 the single viewer's stimulus is withheld. The HTML
report is opened in Chromium: the test saves a screenshot, checks that the charts were drawn and that
the numbers shown equal those of the JSON export.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -v   (Debian's python3-selenium)
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFECT_SHARED_DATA") or os.path.join(os.path.dirname(ROOT), "shared", "data")
CLIPS = sorted(glob.glob(os.path.join(SHARED, "talking-heads", "*.mp4")))
AFFECT = os.environ.get("AFFECT_BINARY") or os.path.join(ROOT, ".build", "debug", "affect")
SCREENSHOTS = os.path.join(ROOT, ".build", "e2e")

MISSING = []
if len(CLIPS) < 6:
    MISSING.append(f"six talking-head clips in {SHARED}")
if not os.path.exists(os.path.join(ROOT, "models", "manifest.json")):
    MISSING.append("models (run scripts/bootstrap)")
if not os.access(AFFECT, os.X_OK):
    MISSING.append(f"the affect binary at {AFFECT}")
if MISSING:
    sys.stderr.write("\n" + "*" * 66 + "\nSKIPPING report test: missing " + "; ".join(MISSING) + "\n" + "*" * 66 + "\n")


def chromium():
    """Headless Chromium from Debian, through its driver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class ReportInTheBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="affect-report-")
        cls.chromium_before = set(glob.glob("/tmp/org.chromium.Chromium.*"))
        cls.db = "sqlite:" + os.path.join(cls.work, "affect.sqlite")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        for folder in set(glob.glob("/tmp/org.chromium.Chromium.*")) - cls.chromium_before:
            shutil.rmtree(folder, ignore_errors=True)

    def affect(self, *arguments, status=0):
        result = subprocess.run([AFFECT, *arguments, "--db", self.db], capture_output=True, text=True)
        self.assertEqual(result.returncode, status, f"affect {' '.join(arguments)}: {result.stderr}")
        return result.stdout if status == 0 else result.stderr

    def test_report_of_a_study_from_real_clips(self):
        self.affect("study", "create", "--name", "Ads", "--purpose", "Which cut holds attention", "--context", "market-research",
                    "--k", "2", "--privacy-budget", "1")
        stimulus = lambda name, variant: json.loads(self.affect("stimulus", "add", "--study", "Ads", "--name", name,
                                                                "--variant", variant, "--source", f"https://cdn.example/{name}-{variant}.mp4"))["id"]
        cut_a, cut_b, teaser = stimulus("Cut", "A"), stimulus("Cut", "B"), stimulus("Teaser", "A")
        ages = ["18-34", "18-34", "35-54", "35-54", "18-34", "55+"]
        for clip, watched, age in zip(CLIPS[:6], [cut_a, cut_b, cut_a, cut_b, cut_a, teaser], ages):
            participant = json.loads(self.affect("consent", "record", "--study", "Ads", "--segment", f"age={age}"))["participant"]["id"]
            self.affect("analyze", clip, "--study", "Ads", "--participant", participant, "--stimulus", watched,
                        "--fps", "5", "--detector", "blazeface")

        report = json.loads(self.affect("report", "Ads", "--format", "json"))
        html_path = os.path.join(self.work, "report.html")
        csv = self.affect("report", "Ads", "--format", "csv")
        # Segments are released only with differential privacy in this study: each release spends ε.
        refused = self.affect("report", "Ads", "--segment-by", "age", "--format", "json", status=65)
        self.assertIn("only with differential privacy", refused)
        self.affect("report", "Ads", "--output", html_path, "--segment-by", "age", "--epsilon", "0.5")
        noised = json.loads(self.affect("report", "Ads", "--segment-by", "age", "--epsilon", "0.5", "--format", "json"))
        self.assertEqual(noised["segments"]["budget_remaining"], 0)
        cells = {(row["stimulus"], row["value"]) for row in noised["segments"]["rows"]}
        self.assertEqual(cells, {("Cut A", "18-34")}, "the only cell with k = 2 participants")
        self.assertTrue(all("low" not in row["valence"] for row in noised["segments"]["rows"]), "no intervals under noise")
        spent = self.affect("report", "Ads", "--segment-by", "age", "--epsilon", "0.1", "--format", "json", status=77)
        self.assertIn("privacy budget", spent)

        sections = {(s["name"], s["variant"]): s for s in report["stimuli"]}
        self.assertEqual(sections[("Cut", "A")]["participants"], 3)
        self.assertEqual(sections[("Cut", "B")]["participants"], 2)
        self.assertIsNone(sections[("Teaser", "A")].get("participants"), "one viewer is fewer than k = 2")
        self.assertEqual(sections[("Teaser", "A")]["bins"], [])
        self.assertGreater(sections[("Teaser", "A")]["suppressed_bins"], 10)
        self.assertNotIn(teaser, csv, "nothing about the single viewer is exported")
        cut = sections[("Cut", "A")]
        self.assertGreater(len(cut["bins"]), 10, "bins over the clips' 8 s")
        self.assertTrue(all(b["n"] >= 2 for b in cut["bins"]))
        comparison = report["comparisons"][0]
        self.assertEqual((comparison["variant_a"], comparison["variant_b"]), ("A", "B"))
        self.assertIsNotNone(comparison.get("overall"))
        self.assertIn("participants", comparison["statement"])
        self.assertTrue(report["provenance"] and report["provenance"][0]["models"], "model provenance is reported")

        from selenium.webdriver.common.by import By

        driver = chromium()
        try:
            driver.get("file://" + html_path)
            self.assertEqual(driver.execute_script("return document.body.dataset.rendered"), "true", "the charts script ran")
            os.makedirs(SCREENSHOTS, exist_ok=True)
            driver.set_window_size(1100, driver.execute_script("return document.body.scrollHeight") + 50)
            driver.save_screenshot(os.path.join(SCREENSHOTS, "report.png"))
            # Every shown section has drawn charts: lines, interval bands, axes and legends.
            for selector in ("section.stimulus svg path.line", "section.stimulus svg path.band", "svg .axes text",
                             "svg .legend text", "#comparisons svg path.line"):
                self.assertTrue(driver.find_elements(By.CSS_SELECTOR, selector), selector)
            drawn = driver.execute_script(
                "return [...document.querySelectorAll('section.stimulus svg path.line')].filter(p => p.getAttribute('d').length > 50).length")
            self.assertGreaterEqual(drawn, 2 * (7 + 2), "two shown sections, each with its expression and valence lines")
            for section in ("summary", "comparisons", "moments", "segments", "method", "provenance", "limitations"):
                self.assertTrue(driver.find_element(By.ID, section).text.strip(), section)
            # The numbers shown are the JSON's.
            for row in driver.find_elements(By.CSS_SELECTOR, "#summary tbody tr"):
                stimulus_id = row.get_attribute("data-stimulus")
                shown = next(s for s in report["stimuli"] if s["stimulus_id"] == stimulus_id)
                cells = row.find_elements(By.CSS_SELECTOR, "td[data-value]")
                if shown.get("overall") is None:
                    self.assertEqual(cells, [], "a withheld stimulus shows no numbers")
                    continue
                valence = float(cells[0].get_attribute("data-value"))
                self.assertAlmostEqual(valence, shown["overall"]["valence"]["mean"], places=6)
                self.assertIn(f"{shown['overall']['valence']['mean']:.3f}", cells[0].text)
            p_cell = driver.find_elements(By.CSS_SELECTOR, "#comparisons table.test td[data-value]")
            self.assertAlmostEqual(float(p_cell[0].get_attribute("data-value")), comparison["overall"]["difference"], places=6)
            self.assertAlmostEqual(float(p_cell[1].get_attribute("data-value")), comparison["overall"]["p"], places=6)
            peaks = [float(c.get_attribute("data-value")) for c in
                     driver.find_elements(By.CSS_SELECTOR, "#moments tbody tr td:nth-child(6)")]
            self.assertEqual(len(peaks), len(report["moments"]))
            for shown, moment in zip(peaks, report["moments"]):
                self.assertAlmostEqual(shown, moment["peak"], places=6)
        finally:
            driver.quit()

    def test_one_video_report_with_measures_draws_attention(self):
        """`affect analyze --measures --report`: the attention curve, eyes and head charts in the browser,
        and the attention shown equal to the embedded JSON's."""
        html_path = os.path.join(self.work, "measured.html")
        result = subprocess.run([AFFECT, "analyze", CLIPS[0], "--measures", "--track", "--fps", "10", "--detector", "blazeface",
                                 "--report", html_path, "--output", os.path.join(self.work, "measured.jsonl")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(self.work, "measured.jsonl")) as lines:
            faces = [face for line in lines for face in json.loads(line)["faces"]]
        self.assertTrue(faces and all("head_pose" in f and "attending" in f for f in faces), "every face measured")

        from selenium.webdriver.common.by import By

        driver = chromium()
        try:
            driver.get("file://" + html_path)
            self.assertEqual(driver.execute_script("return document.body.dataset.rendered"), "true", "the charts script ran")
            os.makedirs(SCREENSHOTS, exist_ok=True)
            driver.set_window_size(1100, driver.execute_script("return document.body.scrollHeight") + 50)
            driver.save_screenshot(os.path.join(SCREENSHOTS, "report-measures.png"))
            report = json.loads(driver.execute_script("return document.getElementById('report-data').textContent"))
            overall = report["stimuli"][0]["overall"]
            self.assertIn("attention", overall)
            self.assertIn("Attention", driver.find_element(By.CSS_SELECTOR, "#engagement-0 .chart-title").text)
            for chart in ("#engagement-0", "#eyes-0", "#pose-0"):
                lines = driver.find_elements(By.CSS_SELECTOR, chart + " path.line")
                self.assertTrue(any(len(line.get_attribute("d")) > 50 for line in lines), chart + " has a drawn line")
            header = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#summary thead th")]
            self.assertIn("attention [95% CI]", header)
            shown = driver.find_elements(By.CSS_SELECTOR, "#summary tbody tr td[data-value]")[2]
            self.assertAlmostEqual(float(shown.get_attribute("data-value")), overall["attention"]["mean"], places=6)
        finally:
            driver.quit()


if __name__ == "__main__":
    unittest.main()
