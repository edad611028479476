import os

from hypothesis import HealthCheck, settings

# fixtures shared across the test folders; their helpers are plain modules in tests/helpers
pytest_plugins = ["tests.helpers.config_fixtures", "tests.helpers.kafka_fixtures", "tests.helpers.console_fixtures"]

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
