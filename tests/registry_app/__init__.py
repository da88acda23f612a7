"""A Tandem app that exists only in the test suite, to prove that adding an app is its folder
plus one ``INSTALLED_APPS`` line (``settings.py`` here): its router, page, periodic job,
permission, command and isolation expectations all come from ``apps.py``. Installed only by
``tests/test_app_registry.py``, which runs ``checks.py`` in a process with these settings."""
