"""The admin console in a real headless Chromium: edit, preview, refuse, save, send, roll back, explain."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.support.console import ADMIN, PASSWORD, ack_text, scenario, serious_violations
from tests.support.mail import customer_mail, send

pytestmark = pytest.mark.integration
UNVERIFIED = scenario("unverified", "routine", "inhours")
URGENT = scenario("verified", "urgent", "offhours")
DOCS = Path(__file__).resolve().parents[2] / "docs"
OLD, NEW = (
    "Nos services et serveurs sont surveillés en permanence",
    "Nos services et serveurs sont surveillés jour et nuit",
)


def by_id(browser, element_id: str):
    return browser.driver.find_element(By.ID, element_id)


def accessible(browser) -> None:
    assert serious_violations(browser.driver) == []


def sign_in(browser, console) -> None:
    browser.driver.get(f"{console.url}/templates")
    browser.wait(lambda: "/admin/login" in browser.driver.current_url)
    accessible(browser)
    by_id(browser, "name").send_keys(ADMIN)
    by_id(browser, "password").send_keys(PASSWORD + Keys.ENTER)
    browser.wait(lambda: browser.driver.current_url.endswith("/admin/templates"))
    # The URL changes when the redirect's navigation starts: a page asked for before it has
    # loaded can be dropped by the browser, so wait for the list itself.
    browser.wait(
        lambda: (
            browser.driver.execute_script("return document.readyState") == "complete"
            and browser.driver.find_elements(By.TAG_NAME, "h1")
        )
    )


def replace_text(browser, element_id: str, old: str, new: str) -> None:
    """Select everything in the box and type the new text, as an admin would."""
    area = by_id(browser, element_id)
    text = area.get_attribute("value")
    assert old in text
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys(text.replace(old, new))


def preview_shows(browser, needle: str) -> str:
    return browser.wait(
        lambda: (
            needle in by_id(browser, "preview-text").text and by_id(browser, "preview-text").text
        )
    )


def acknowledgement_of_a_new_mail(console, sink, subject: str) -> str:
    before = len(sink.handler.messages)
    assert send(console.stack.smtp_address, customer_mail(subject=subject))[0] == 250
    return ack_text(sink.handler.wait_for(before + 1)[before]["data"])


def test_an_admin_changes_a_sentence_customers_get_it_and_a_rollback_brings_the_old_one_back(
    console, browser, sink
):
    driver = browser.driver
    sign_in(browser, console)
    accessible(browser)
    driver.find_element(By.LINK_TEXT, "ack.fr").click()
    browser.wait(lambda: by_id(browser, "preview-text").text)
    accessible(browser)

    # A sentence changed: the preview follows, in two scenarios.
    assert OLD in by_id(browser, "preview-text").text
    replace_text(browser, "part-txt", OLD, NEW)
    urgent = preview_shows(browser, NEW)
    assert URGENT in by_id(browser, "preview-status").text
    assert "+33" in urgent  # the verified urgent scenario lists the lines to call
    Select(by_id(browser, "scenario")).select_by_value(UNVERIFIED)
    browser.wait(lambda: UNVERIFIED in by_id(browser, "preview-status").text)
    unverified = preview_shows(browser, NEW)
    assert "numéro de client" in unverified and "+33" not in unverified
    driver.save_screenshot(str(DOCS / "admin-editor.png"))

    # A phone number in the unverified part: the save is refused, naming the scenario and line.
    driver.get(f"{console.url}/templates/_identity.fr")
    area = by_id(browser, "part-txt")
    area.send_keys(Keys.CONTROL, Keys.END)
    area.send_keys("\nEn cas de besoin, appelez le 02 90 92 05 50.\n")
    by_id(browser, "comment").send_keys("ajout du standard")
    by_id(browser, "save").click()
    refused = browser.wait(lambda: by_id(browser, "refused").text)
    assert "unverified-" in refused and "02 90 92 05 50" in refused
    assert "_identity.fr.txt.j2, line" in refused
    accessible(browser)

    # A good change, saved with a comment, is in the history with its diff.
    driver.get(f"{console.url}/templates/ack.fr")
    replace_text(browser, "part-txt", OLD, NEW)
    by_id(browser, "comment").send_keys("« jour et nuit » plutôt que « en permanence »")
    by_id(browser, "save").click()
    assert "v1" in browser.wait(lambda: by_id(browser, "saved").text)
    driver.find_element(By.PARTIAL_LINK_TEXT, "History").click()
    version = browser.wait(lambda: by_id(browser, "version-1").text)
    assert "« jour et nuit » plutôt que « en permanence »" in version
    assert OLD in driver.find_element(By.CSS_SELECTOR, "#version-1 pre.diff .del").text
    assert NEW in driver.find_element(By.CSS_SELECTOR, "#version-1 pre.diff .add").text
    accessible(browser)

    # Customers get the new wording through SMTP...
    assert NEW in acknowledgement_of_a_new_mail(console, sink, "Question DNS, premier envoi")

    # ...until a rollback, itself a new version, brings the old one back.
    driver.find_element(By.CSS_SELECTOR, "#version-1 button[type=submit]").click()
    assert "v2" in browser.wait(lambda: by_id(browser, "done").text)
    assert "rollback" in by_id(browser, "version-2").text
    text = acknowledgement_of_a_new_mail(console, sink, "Question DNS, second envoi")
    assert OLD in text and NEW not in text

    # That ticket's page explains its decision.
    driver.get(f"{console.url}/tickets")
    accessible(browser)
    driver.find_element(By.CSS_SELECTOR, "#ticket-list tbody tr:first-child a").click()
    page = browser.wait(lambda: driver.find_element(By.TAG_NAME, "main").text)
    assert "Decision" in page and "Rules that decided" in page and "verified" in page
    assert "Question DNS, second envoi" in page
    accessible(browser)
    driver.set_window_size(1400, 2600)
    driver.save_screenshot(str(DOCS / "admin-ticket.png"))
    driver.set_window_size(1400, 1000)

    driver.get(f"{console.url}/parked")
    accessible(browser)

    # The audit log holds the change and the rollback.
    driver.get(f"{console.url}/audit")
    log = by_id(browser, "audit-log").text
    assert "template.save" in log and "template.rollback" in log
    accessible(browser)


def test_without_the_csrf_token_the_preview_and_a_save_are_refused_in_the_browser(console, browser):
    sign_in(browser, console)
    browser.driver.get(f"{console.url}/templates/ack.fr")
    browser.wait(lambda: browser.driver.find_elements(By.CSS_SELECTOR, "#editor input[name=csrf]"))
    status = browser.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(location.pathname + '/preview', {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'scenario=x'})
          .then(r => done(r.status));
        """
    )
    assert status == 403
    browser.driver.execute_script(
        "document.querySelector('#editor input[name=csrf]').value = 'forged'"
    )
    by_id(browser, "comment").send_keys("sans jeton")
    by_id(browser, "save").click()
    # Until the refusal has loaded, the body is still the editor's: wait for the words.
    assert browser.wait(lambda: "CSRF" in browser.driver.find_element(By.TAG_NAME, "body").text)


def test_the_console_works_with_the_keyboard_alone_and_speaks_french(console, browser):
    driver = browser.driver
    driver.get(f"{console.url}/login?lang=fr")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Connexion"
    driver.switch_to.active_element.send_keys(ADMIN, Keys.TAB, PASSWORD, Keys.ENTER)
    browser.wait(lambda: driver.current_url.endswith("/admin/templates"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Modèles"
    focus_on(browser, lambda el: el.text == "ack.en")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    browser.wait(lambda: driver.current_url.endswith("/templates/ack.en"))
    focus_on(browser, lambda el: el.get_attribute("id") == "part-txt")
    driver.switch_to.active_element.send_keys(
        Keys.CONTROL, Keys.END, Keys.NULL, "\nThank you for your patience.\n"
    )
    focus_on(browser, lambda el: el.get_attribute("id") == "comment")
    driver.switch_to.active_element.send_keys("thanks line", Keys.ENTER)
    assert "v1" in browser.wait(lambda: by_id(browser, "saved").text)
    accessible(browser)


def focus_on(browser, wanted, presses: int = 80) -> None:
    """Press Tab until the focused element is the wanted one (as a keyboard user does)."""
    driver = browser.driver
    for _ in range(presses):
        if wanted(driver.switch_to.active_element):
            return
        driver.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError("never reached with the Tab key")
