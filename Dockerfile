FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# SAML signatures are checked by xmlsec1 (pysaml2 calls it).
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY coachhub ./coachhub
COPY scenarios ./scenarios
COPY sessions ./sessions
COPY scoring ./scoring
COPY reports ./reports
RUN pip install --no-cache-dir -e .
COPY . .
RUN DJANGO_SETTINGS_MODULE=coachhub.settings.local python manage.py collectstatic --noinput
RUN useradd --create-home coachhub && chown -R coachhub /app
USER coachhub
EXPOSE 8000
CMD ["uvicorn", "coachhub.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers"]
