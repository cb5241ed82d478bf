"""ASGI entry point: the production server (uvicorn) serves pages, the API and streamed replies."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings.production")

application = get_asgi_application()
