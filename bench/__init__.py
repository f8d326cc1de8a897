"""The load benchmark (issue 6): `make bench` runs `bench/run.py`. Nothing here is imported by the app."""
