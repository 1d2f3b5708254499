"""What `manage.py bench` needs to measure the app as production serves it: a gunicorn server
(DEBUG off, PostgreSQL, Redis) with one extra route, a bare one-query view to compare against,
and a small HTTP load client."""
