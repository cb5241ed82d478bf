"""In a real browser: a rep completes text and voice sessions against the embedded customer."""

import subprocess

import pytest
from playwright.sync_api import expect

from coachhub.tenancy.context import tenant_context
from sessions.models import PracticeSession, Turn
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.sessions.helpers import publish_library_scenario, use_llm_customer
from tests.sessions.scripts import SUPPORTIVE_SCRIPTS
from tests.support.openai_server import reply

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLUG = "meal-kit-cancellation"


def _login(page, member) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/t/**")


def _start(page, mode_label: str) -> None:
    page.goto("/t/acme/practice/")
    page.get_by_role("button", name=mode_label).first.click()
    page.wait_for_selector("[data-runner]")
    # The click returns once the runner page has started to arrive; its script (deferred) must be
    # listening before a line is sent, or the form would post without it.
    page.wait_for_load_state()


def _wait_for_turn_end(page) -> None:
    """Until the customer's reply is over: the Send button is back, or the session ended (the results
    link shows). The reply's bubble appears with its first words, before either."""
    results = page.get_by_role("link", name="See your results")
    send = page.get_by_role("button", name="Send").and_(page.locator(":enabled"))
    expect(results.or_(send).filter(visible=True).first).to_be_visible()


def test_rep_completes_a_text_session(page, world_a):
    publish_library_scenario(world_a.tenant, SLUG)
    _login(page, world_a.member("rep"))
    _start(page, "Practice by text")
    assert page.locator(".bubble-customer").count() == 1
    screenshot(page, "runner-start")
    # (Playwright's string-evaluating waits are blocked by our CSP, as any inline script would be:
    # the test waits on elements instead.)
    for line in SUPPORTIVE_SCRIPTS[SLUG]:
        before = page.locator(".bubble-customer").count()
        page.get_by_label("Your reply").fill(line)
        page.get_by_role("button", name="Send").click()
        page.locator(".bubble-customer").nth(before).wait_for()
        expect(page.locator(".bubble-customer").nth(before)).not_to_have_text("")
        _wait_for_turn_end(page)
        if "results are ready" in (page.locator("#status").text_content() or ""):
            break
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
    screenshot(page, "runner-resolved")
    # No automatic redirect cuts off the last reply: the rep opens the results when ready.
    page.get_by_role("link", name="See your results").click()
    page.get_by_role("heading", name="Frustration curve").wait_for()
    screenshot(page, "results")
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get()
    assert session.end_reason == "resolved"
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


@pytest.fixture
def spoken_wav(tmp_path):
    path = tmp_path / "rep.wav"
    text = "I am so sorry about the missed delivery. I will cancel your plan right now and email you the confirmation by five today."
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True)
    return path


def test_rep_completes_a_voice_turn_with_the_fake_microphone(browser, live_server, world_a, spoken_wav, playwright_instance):
    publish_library_scenario(world_a.tenant, SLUG)
    voice_browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-audio-capture={spoken_wav}"],
    )
    try:
        context = voice_browser.new_context(base_url=live_server.url, permissions=["microphone"])
        page = context.new_page()
        page.set_default_timeout(30000)
        _login(page, world_a.member("rep"))
        _start(page, "By voice")
        talk = page.get_by_role("button", name="Hold to talk")
        talk.hover()
        page.mouse.down()
        # Recording starts once the microphone is open (slow on a loaded machine): hold from then on.
        expect(page.locator("#talk")).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(6500)  # holding to talk: the fake microphone plays the WAV in real time
        page.mouse.up()
        # Transcribing waits for the speech model, loaded in the background since the session began.
        page.locator(".bubble-rep").first.wait_for(timeout=90000)
        page.locator(".bubble-customer").nth(1).wait_for()
        rep_line = page.locator(".bubble-rep p").first.text_content().lower()
        screenshot(page, "runner-voice")
        assert "cancel" in rep_line and "sorry" in rep_line, rep_line
        with tenant_context(world_a.tenant):
            session = PracticeSession.objects.get()
            rep_turn = Turn.objects.get(session=session, speaker="rep")
        assert rep_turn.delivery["words_per_minute"] > 0
        assert rep_turn.audio.name
    finally:
        voice_browser.close()


def test_rep_completes_a_text_session_against_an_openai_compatible_server(asgi_page, world_a, openai_server):
    """Served by uvicorn, as in production: the reply grows in the page chunk by chunk while the
    model is still writing it, and the frustration side channel never shows."""
    page = asgi_page
    use_llm_customer(world_a, openai_server)
    first = "Fine, I'm listening. What can you actually do about the boxes I keep getting?"
    openai_server.script(
        reply(f"{first}\n[[state frustration=45 end=none]]"),
        reply("Okay, a call back by five today works. Thank you.\n[[state frustration=10 end=resolved]]"),
    )
    # 5 characters a chunk, slow enough that even a loaded machine draws the page between them (the customer
    # holds the last words of a sentence back until it is vetted, so the page grows a few words at a time)
    openai_server.chunk_delay_s = 0.15  # the first reply takes about 2.5 s to write
    publish_library_scenario(world_a.tenant, SLUG)
    _login(page, world_a.member("rep"))
    _start(page, "Practice by text")
    page.get_by_label("Your reply").fill("I'm sorry about the trouble with the app. Let me sort this out.")
    # The page itself records what the reply showed, frame by frame (the text when the next frame
    # came, or 16 ms later), so a test process starved by a loaded machine can't miss steps by
    # polling too late; a reply that arrived whole would leave one state.
    page.evaluate("""() => {
      const chat = document.getElementById("chat");
      const states = (window.__replyStates = []);
      let pending = false;
      const sample = () => {
        if (!pending) return;
        pending = false;
        const bubble = chat.querySelectorAll(".bubble-customer")[1];
        const text = bubble ? bubble.querySelector("p").textContent : "";
        if (text && states[states.length - 1] !== text) states.push(text);
      };
      new MutationObserver(() => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(sample);
        setTimeout(sample, 16);
      }).observe(chat, { childList: true, subtree: true, characterData: true });
    }""")
    page.get_by_role("button", name="Send").click()
    customer = page.locator(".bubble-customer").nth(1).locator("p")
    expect(customer).to_have_text(first, timeout=60000)
    shown: list[str] = page.evaluate("() => window.__replyStates")
    for text in shown:
        assert first.startswith(text) and "[[" not in text, text
    seen = [text for text in shown if text != first]
    assert len(seen) >= 3, f"the reply should have grown in steps, but the page showed only {seen}"
    expect(page.locator("#frustration-value")).to_have_text("45")
    openai_server.chunk_delay_s = 0.0
    page.get_by_label("Your reply").fill("I will cancel it now and call you back by five today to confirm.")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("link", name="See your results").click(timeout=15000)
    page.get_by_role("heading", name="Frustration curve").wait_for(timeout=15000)
    screenshot(page, "results-llm")
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get()
    assert session.engine == "llm" and session.end_reason == "resolved"
    assert len(openai_server.chat_requests()) == 2
