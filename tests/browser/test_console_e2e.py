"""A whole study run in the researcher console, in a real headless Chromium, without curl or tokens.

A real `affect serve` on 127.0.0.1 (real models, SQLite). One browser is the researchers' (first the
admin who opens the setup link, later a reviewer, an analyst, the admin again); another has Chromium's
file camera playing a real talking head spliced with a real smiling face (fer's test image), and takes
part through three participant links. Only
pages are used, as people would; the one API call is the token the admin makes in the console and then
revokes. Screenshots of each page go to .build/e2e/console-*.png.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -v   (Debian's python3-selenium)
"""

import os
import unittest
import urllib.error
import urllib.request

from browser_support import (SCREENSHOTS, StudyServer, StudyServerTestCase, missing_prerequisites, smiling_camera_file,
                             stimulus_file, wait)

STIMULUS_SECONDS = 8
PASSWORDS = {"ada": "correct horse battery", "rev": "reviewer's long password", "ana": "analyst's long password"}
MISSING = missing_prerequisites("console end-to-end test")


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class ConsoleEndToEnd(StudyServerTestCase):
    work_prefix = "affect-console-"

    @classmethod
    def start(cls):
        # The participants' faces change every two seconds (a neutral talking head, then a smile), all
        # alike: the audience's expressions rise together, which makes moments to review.
        cls.camera = smiling_camera_file(cls.work)
        # The talking-head clip the researcher uploads.
        cls.stimulus = stimulus_file(cls.work, STIMULUS_SECONDS)
        cls.server = StudyServer(cls.work, "--workers", "2")
        cls.url, cls.setup_url = cls.server.url, cls.server.setup_url
        cls.console = cls.browser()
        cls.participant = cls.browser(cls.camera)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    # --- helpers ---------------------------------------------------------------------------

    def wait(self, condition, timeout=30, message="condition"):
        return wait(self, condition, timeout, message)

    def page(self):
        return self.console.execute_script("return document.body.dataset.page")

    def shot(self, name):
        self.console.save_screenshot(os.path.join(SCREENSHOTS, f"console-{name}.png"))

    def by_id(self, element):
        from selenium.webdriver.common.by import By
        return self.console.find_element(By.ID, element)

    def fill(self, **fields):
        for element, value in fields.items():
            field = self.by_id(element)
            field.clear()
            field.send_keys(value)

    def select(self, element, value):
        from selenium.webdriver.support.ui import Select
        Select(self.by_id(element)).select_by_value(value)

    def go(self, path, expect):
        self.console.get(self.url + path)
        self.wait(lambda: self.page() == expect, message=f"the {expect} page at {path}")

    def sign_in(self, name):
        self.console.delete_all_cookies()
        self.go("/sign-in", "sign-in")
        self.fill(name=name, password=PASSWORDS[name])
        self.by_id("sign-in").click()
        self.wait(lambda: self.page() == "studies", message=f"{name} to be signed in")

    def wider_than_the_window(self):
        """The elements that stick out past the window's right edge (none when nothing scrolls sideways)."""
        return self.console.execute_script("""
            if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
            return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                && !e.closest('.table-scroll')).map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right));
        """)

    def take_part(self, link):
        from selenium.webdriver.common.by import By
        driver = self.participant
        state = lambda: driver.execute_script("return document.body.dataset.state")
        driver.get(link)
        self.wait(lambda: state() == "briefing", message="the briefing")
        driver.find_element(By.ID, "agree").click()
        driver.find_element(By.ID, "consent").click()
        self.wait(lambda: state() == "camera", message="the camera preview")
        driver.find_element(By.ID, "start").click()
        self.wait(lambda: state() == "capturing", message="capture to start")
        participant = driver.execute_script("return document.body.dataset.participant")
        self.wait(lambda: state() == "finished", timeout=STIMULUS_SECONDS + 30, message="the stimulus to end")
        return participant

    # --- the study -----------------------------------------------------------------------------

    def test_a_whole_study_in_the_console(self):
        from selenium.webdriver.common.by import By

        # Landing: sign-in; the first admin comes from the setup link the server printed.
        self.console.get(self.url + "/")
        self.wait(lambda: self.page() == "sign-in", message="the sign-in page at /")
        self.shot("sign-in")
        self.console.get(self.setup_url)
        self.wait(lambda: self.page() == "setup", message="the setup page")
        self.shot("setup")
        self.fill(name="ada", password=PASSWORDS["ada"], confirm=PASSWORDS["ada"])
        self.by_id("create-admin").click()
        self.wait(lambda: self.page() == "studies", message="the studies page after setup")
        self.assertIn("No studies yet", self.by_id("no-studies").text)
        self.shot("studies-empty")

        # A workplace study is refused, with the reason in words; nothing typed is lost.
        self.by_id("new-study").click()
        self.wait(lambda: self.page() == "study-new", message="the new-study form")
        self.fill(name="Staff mood", purpose="How staff feel about the new rota")
        self.select("context", "workplace")
        self.by_id("create-study").click()
        self.wait(lambda: self.page() == "study-new" and self.console.find_elements(By.ID, "study-error"), message="the refusal")
        refusal = self.by_id("study-error").text
        self.assertIn("prohibited by EU AI Act Art. 5(1)(f)", refusal)
        self.assertIn("Medical or safety reason", refusal)
        self.assertEqual(self.by_id("name").get_attribute("value"), "Staff mood")
        self.shot("study-refused")

        # A media study that also measures faces (attention), with its participant notice previewed first.
        self.fill(name="Trailer test", purpose="Which cut of the trailer holds attention", k="2")
        self.select("context", "media-research")
        # New studies analyse in participants' browsers; measuring faces needs the server's analysis.
        self.assertEqual(self.by_id("analysis").get_attribute("value"), "device")
        self.select("analysis", "server")
        self.by_id("measures").click()
        self.by_id("preview").click()
        self.wait(lambda: self.console.find_elements(By.ID, "notice"), message="the notice preview")
        notice = self.by_id("notice").text
        self.assertIn("Which cut of the trailer holds attention", notice)
        self.assertIn("probabilistic estimates", notice)
        self.assertIn("whether you are facing the screen", notice, "the notice says faces are measured")
        self.assertTrue(self.by_id("measures").is_selected(), "the preview keeps the choice")
        self.shot("notice-preview")
        self.by_id("create-study").click()
        self.wait(lambda: self.page() == "study", message="the study page")
        study = self.by_id("study-name").get_attribute("data-study")
        self.assertIn("attention", self.by_id("measured").text)

        # The stimulus: a talking-head clip uploaded with progress, then previewable.
        self.by_id("upload-file").send_keys(self.stimulus)
        self.fill(**{"upload-name": "Cut", "upload-variant": "A"})
        self.by_id("upload").click()
        self.wait(lambda: self.console.find_elements(By.CSS_SELECTOR, "#stimuli li[data-stimulus]"), timeout=60,
                  message="the uploaded stimulus")
        self.assertIn("Cut", self.by_id("stimuli").text)

        # Three links, shown once, all in one box to copy.
        self.fill(count="3")
        self.by_id("make-links").click()
        self.wait(lambda: self.page() == "links-created", message="the new links")
        links = self.by_id("all-links").get_attribute("value").split("\n")
        self.assertEqual(len(links), 3)
        self.assertTrue(all(link.startswith(self.url + "/p/") for link in links), links)
        self.shot("links")

        # Three participants take part with the fake camera; the live page shows them.
        self.go("/live", "live")
        participants = [self.take_part(links[0])]
        self.wait(lambda: self.console.find_elements(By.CSS_SELECTOR, "tr.session-row"), message="a session on the live page")
        self.shot("live")
        participants += [self.take_part(link) for link in links[1:]]
        self.assertEqual(len(set(participants)), 3)
        # The study measures faces: the live page draws the audience's attention curve.
        self.go("/live", "live")
        self.wait(lambda: self.console.execute_script(
            "const svg = document.getElementById('audience-attention');"
            "return !!svg && !svg.classList.contains('hidden') &&"
            " [...svg.querySelectorAll('path.line')].some(p => p.getAttribute('d').length > 20)"),
            timeout=30, message="the audience attention curve on the live page")
        self.shot("live-attention")
        self.go(f"/studies/{study}", "study")
        self.wait(lambda: [row.get_attribute("data-state") for row in self.console.find_elements(By.CSS_SELECTOR, "#link-table tr[data-link]")]
                  == ["completed"] * 3, message="three completed links")
        self.shot("study")

        # The report opens in the console; the results explorer draws and tabulates the audience.
        self.by_id("report-link").click()
        self.wait(lambda: self.page() == "report", message="the report page")
        self.console.switch_to.frame(self.by_id("report-frame"))
        self.wait(lambda: "Trailer test" in self.console.find_element(By.TAG_NAME, "body").text, message="the report in its frame")
        self.assertIn("Attention (share of frames facing the screen", self.console.find_element(By.TAG_NAME, "body").text)
        self.console.switch_to.default_content()
        self.shot("report")
        self.go(f"/studies/{study}/results", "results")
        self.wait(lambda: self.console.execute_script(
            "return [...document.querySelectorAll('#results-chart path.line')].some(p => p.getAttribute('d').length > 20)"),
            message="the results chart")
        self.assertGreater(len(self.console.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")), 5)
        self.assertEqual(self.by_id("participants").text, "3")
        self.shot("results")

        # A reviewer and an analyst, each given the study.
        self.go("/users", "users")
        for name, role in (("rev", "reviewer"), ("ana", "analyst")):
            self.fill(**{"user-name": name, "user-password": PASSWORDS[name]})
            self.select("user-role", role)
            self.by_id("add-user-button").click()
            self.wait(lambda: self.console.find_elements(By.CSS_SELECTOR, f"#users tr[data-user={name}]"), message=f"user {name}")
        self.shot("users")
        self.go(f"/studies/{study}", "study")
        for name in ("rev", "ana"):
            self.fill(**{"share-user": name})
            self.by_id("share").click()
            self.wait(lambda: name in self.by_id("grantees").text, message=f"the study shared with {name}")

        # Moments are looked for; the reviewer confirms one while watching the stimulus at it.
        self.go(f"/studies/{study}/moments", "moments")
        # The page is already the moments page: waiting for that would not wait for the answer to the
        # click (it raced it in two full runs and lost). Wait for the moments the answer lists.
        self.by_id("find-moments").click()
        pending = self.wait(lambda: self.console.find_elements(By.CSS_SELECTOR, "#moments li[data-status=pending]"),
                            message="three faces that change together (a talking head, then a smile) to make audience moments")
        self.sign_in("rev")
        self.assertIn("Trailer test", self.by_id("studies").text)
        self.go(f"/studies/{study}/moments", "moments")
        moment = self.console.find_element(By.CSS_SELECTOR, "#moments li[data-status=pending]")
        moment_id = moment.get_attribute("data-moment")
        self.assertTrue(moment.find_elements(By.TAG_NAME, "video"), "the stimulus plays at the moment")
        moment.find_element(By.TAG_NAME, "textarea").send_keys("Visible in the trailer's second shot")
        moment.find_element(By.CSS_SELECTOR, "button[value=confirmed]").click()
        self.wait(lambda: self.console.find_element(By.CSS_SELECTOR, f"#moments li[data-moment={moment_id}]").get_attribute("data-status")
                  == "confirmed", message="the confirmed moment")
        self.assertIn("Reviewed by user:rev", self.console.find_element(By.CSS_SELECTOR, f"#moments li[data-moment={moment_id}]").text)
        self.shot("moments")
        # A reviewer reads no results.
        self.console.get(self.url + f"/studies/{study}/results")
        self.wait(lambda: self.page() == "error", message="the reviewer's refusal")

        # The analyst reads the results but may not create a study.
        self.sign_in("ana")
        self.go(f"/studies/{study}/results", "results")
        self.assertEqual(self.by_id("participants").text, "3")
        self.assertFalse(self.console.find_elements(By.ID, "new-study"))
        self.console.get(self.url + "/studies/new")
        self.wait(lambda: self.page() == "error", message="the analyst's refusal")
        self.assertIn("may not do this", self.by_id("error-message").text)
        self.shot("analyst-refused")

        # The admin makes a token for a script, which works until it is revoked.
        self.sign_in("ada")
        self.go("/tokens", "tokens")
        self.fill(**{"token-name": "dashboards"})
        self.select("token-role", "analyst")
        self.console.find_element(By.CSS_SELECTOR, f"input[name=study][value={study}]").click()
        self.by_id("make-token-button").click()
        self.wait(lambda: self.console.find_elements(By.ID, "token-secret"), message="the new token's secret")
        secret = self.by_id("token-secret").get_attribute("value")
        self.shot("tokens")

        def results_with(token):
            request = urllib.request.Request(self.url + f"/api/v1/studies/{study}/results")
            request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        self.assertEqual(results_with(secret), 200)
        self.go("/tokens", "tokens")
        row = self.console.find_element(By.XPATH, "//table[@id='tokens']//tr[td[1]='dashboards']")
        row.find_element(By.CSS_SELECTOR, "button").click()
        self.wait(lambda: "revoked" in self.console.find_element(By.XPATH, "//table[@id='tokens']//tr[td[1]='dashboards']").text,
                  message="the token revoked")
        self.assertEqual(results_with(secret), 401)

        # The audit log holds, and a participant can be found for their rights.
        self.go("/audit?verify=1", "audit")
        self.assertIn("The chain holds", self.by_id("verification").text)
        self.shot("audit")
        self.go(f"/subjects?participant={participants[0]}", "subjects")
        self.assertIn("Trailer test", self.by_id("found").text)
        self.shot("subjects")

        # Readable at 320 px: no page scrolls sideways.
        self.console.set_window_size(320, 800)
        for path, expect in (("/studies", "studies"), (f"/studies/{study}", "study"), ("/users", "users")):
            self.go(path, expect)
            self.assertEqual(self.wider_than_the_window(), [], f"{path} scrolls sideways at 320 px")
        self.shot("narrow")


if __name__ == "__main__":
    unittest.main()
