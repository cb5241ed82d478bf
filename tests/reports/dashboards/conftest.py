"""Dashboard tests: the dashboard URLs are mounted and `reports.dashboards.register()` has run (home
sections, navigation, demo seeder), as they will be once ReportsConfig.ready() calls it."""

import pytest

from coachhub.tenancy import demo, home


@pytest.fixture(autouse=True)
def dashboards_mounted(settings):
    settings.ROOT_URLCONF = "tests.reports.dashboards.urlconf"
    import reports.dashboards as dashboards

    if dashboards._registered:  # the lead wired register() into ReportsConfig.ready()
        yield
        return
    saved = (list(home._SECTIONS), list(home._NAV), list(demo._SEEDERS))
    dashboards.register()
    try:
        yield
    finally:
        home._SECTIONS[:], home._NAV[:], demo._SEEDERS[:] = saved
        dashboards._registered = False
