"""Data retention and erasure: how long a tenant keeps recordings and transcripts, the scheduled
job that enforces it, and erasing one person's practice data from one tenant on request. The apps'
personal data comes in through `registry` (each app's `personal_data.py`); nothing here imports them."""
