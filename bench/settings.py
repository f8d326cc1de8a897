"""Settings for the benchmark's own processes: the app's settings, plus the bench-only URLs and task.

Selected with DJANGO_SETTINGS_MODULE=bench.settings by bench/run.py only. The app itself never
imports anything from bench/, so the naive view and the ping views are never in the app's URLs.
"""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
# The one-task-per-order comparison task (bench/tasks.py) is registered with the worker this way.
CELERY_IMPORTS = ["bench.tasks"]
