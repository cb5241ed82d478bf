"""WSGI entry point, for hosts without ASGI (streaming replies then fall back to one response)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings.production")

application = get_wsgi_application()
