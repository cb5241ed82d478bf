"""The shipped starter library: complete, valid, one scenario per named moment, round-trippable."""

from __future__ import annotations

import pytest

from scenarios.library import LIBRARY_DIR, LibraryScenarioNotFound, library_get, library_specs
from scenarios.spec import MOMENTS, dump_yaml, load_yaml

SPECS = library_specs()


def test_every_named_moment_has_a_starter_scenario():
    named_moments = set(MOMENTS) - {"custom"}

    assert len(SPECS) >= 6
    assert named_moments <= {spec.moment for spec in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_scenario_is_richly_specified(spec):
    persona = spec.persona
    assert 3 <= len(spec.policies) <= 5
    assert 2 <= len(persona.hidden_details) <= 4
    assert len(persona.facts) >= 3
    assert persona.calmed_by and persona.inflamed_by
    assert persona.temperament and persona.speaking_style
    assert all(hidden.revealed_when for hidden in persona.hidden_details)
    assert sum(behavior.weight for behavior in spec.rubric.behaviors) == 100


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_scenario_round_trips_through_yaml_exactly(spec):
    text = dump_yaml([spec])

    assert load_yaml(text) == [spec]
    assert dump_yaml(load_yaml(text)) == text


def test_whole_library_round_trips_as_one_file():
    text = dump_yaml(SPECS)

    assert load_yaml(text) == SPECS


def test_each_file_holds_the_scenario_named_after_it():
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        [spec] = load_yaml(path.read_text(encoding="utf-8"))
        assert spec.slug == path.stem
        assert library_get(spec.slug) == spec


def test_unknown_slug_names_the_slug_and_the_choices():
    with pytest.raises(LibraryScenarioNotFound) as caught:
        library_get("no-such-scenario")

    assert "no-such-scenario" in str(caught.value)
    assert SPECS[0].slug in str(caught.value)


def test_callers_cannot_change_the_cached_library():
    library_specs().clear()

    assert library_specs() == SPECS
