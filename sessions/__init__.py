"""The role-play runner. App label "roleplay": django.contrib.sessions owns "sessions"."""
