"""Make the shared fixtures (persona world, signed-in clients) available to every suite,
including the per-app tests under src/tandem/<app>/tests/."""

pytest_plugins = ["tests.clock", "tests.fixtures", "tests.desk.mail_support"]
