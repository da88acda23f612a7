"""Make the shared fixtures (persona world, signed-in clients) available to every suite,
including the per-app tests under src/tandem/<app>/tests/, and set how Hypothesis runs."""

from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.clock", "tests.fixtures", "tests.desk.mail_support"]

# Property tests judge what the code answers, never how fast: the suite runs two copies side
# by side on two cores (scripts/test), and a run at load 10 failed Hypothesis's "input
# generation too slow" health check and could fail its per-example deadline. Speed is the
# benchmarks' business (``tandem bench``). Tests may still set their own settings.
settings.register_profile("tandem", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tandem")
