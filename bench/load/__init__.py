"""The province-size load test (issue 13 §4): `python -m bench.load.generate` builds a PostgreSQL
cluster of its own with a province's data, `python -m bench.load.run` serves it with gunicorn and
drives it with Locust (`bench/load/locustfile.py`). See bench/README.md, "Load test"."""
