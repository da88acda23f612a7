from django.urls import path  # noqa: F401

app_name = "servicedesk_extras"

urlpatterns: list = []  # type: ignore[type-arg]
