"""Each chart on a rep's history pages has its own accessible name: a screen reader hears
"Escalation rate", "Handling time"… rather than the first chart's title for all of them (the
title ids once collapsed to "-title")."""

import re
from collections import Counter

import pytest
from django.test import Client

from coachhub.tenancy.demo import seed_demo
from coachhub.tenancy.models import Membership, Tenant


@pytest.mark.django_db
@pytest.mark.parametrize("who, path", [("rep@demo.example", "progress/"), ("manager@demo.example", "reps/{rep}/")])
def test_every_chart_on_a_history_page_names_itself(who, path):
    seed_demo()
    tenant = Tenant.objects.get(slug="demo")
    rep = Membership.objects.for_tenant(tenant).get(user__email="rep@demo.example")
    client = Client()
    client.force_login(Membership.objects.for_tenant(tenant).get(user__email=who).user)
    page = client.get(f"/t/demo/{path.format(rep=rep.id)}")
    assert page.status_code == 200
    html = page.content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert not [i for i, n in ids.items() if n > 1], "duplicate ids on the page"
    charts = re.findall(r'<svg class="line-chart"[^>]*aria-labelledby="([^"]+)"', html)
    assert len(charts) >= 3, "the demo rep has several KPI and behavior charts"
    assert len(set(charts)) == len(charts) and all(ids[c] == 1 for c in charts)
    titles = [re.search(rf'id="{re.escape(c)}"[^>]*>([^<]+)<', html).group(1).strip() for c in charts]
    assert len(set(titles)) == len(titles), titles
