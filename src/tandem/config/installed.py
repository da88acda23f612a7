"""The installed apps. Apart from the settings because the ``tandem`` command reads which
Tandem apps declare sub-commands before it loads the settings (which create the data
directory): a command run in the wrong folder must say so and leave nothing behind.

Adding a Tandem app is its folder plus one line in ``TANDEM_APPS`` (decision 0021).
"""

FRAMEWORK_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
]

#: In dependency order: the registry reads declarations (routers, pages, jobs, roles,
#: commands) in this order.
TANDEM_APPS = [
    "tandem.core",
    "tandem.tenancy",
    "tandem.accounts",
    "tandem.audit",
    "tandem.sla",
    "tandem.assets",
    "tandem.responsibility",
    "tandem.jobs",
    "tandem.agents",
    "tandem.logs",
    "tandem.detection",
    "tandem.servicedesk",
    "tandem.reports",
    "tandem.patching",
    "tandem.alerts",
    "tandem.vulnerabilities",
    "tandem.notifications",
]

INSTALLED_APPS = [*FRAMEWORK_APPS, *TANDEM_APPS]
