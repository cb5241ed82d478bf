"""Template filters of the program pages."""

from django import template

from programs.selectors import behavior_label

register = template.Library()

# `{{ key|behavior_label }}`: a pass mark's name, "overall" included.
register.filter("behavior_label", behavior_label)
