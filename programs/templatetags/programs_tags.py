"""Template filters of the program pages."""

from django import template

from programs.selectors import behavior_label as _behavior_label

register = template.Library()


@register.filter
def behavior_label(key: str) -> str:
    return _behavior_label(key)
