"""In a real browser: seeded demo users log in and land on their role's home; a phone-width page works."""

import pytest
from django.core.management import call_command

from tests.e2e.conftest import log_in, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "email, heading",
    [
        ("admin@demo.example", "Demo Support Co."),
        ("lead@demo.example", "Enablement"),
        ("manager@demo.example", "Your teams"),
        ("rep@demo.example", "Hi Riley Rep"),
    ],
)
def test_seeded_user_logs_in_to_role_home(page, email, heading):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    log_in(page, email, "coachhub-demo")
    assert page.url.endswith("/t/demo/")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    screenshot(page, f"home-{email.split('@')[0]}")
    assert not page.console_errors, page.console_errors  # e.g. CSP violations would show here


def test_wrong_password_explains_itself_at_phone_width(page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "rep@demo.example", "not the password")
    assert "don't match an account" in page.content().replace("&#x27;", "'")
    screenshot(page, "login-error-phone")
