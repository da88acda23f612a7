from django.urls import path

from tandem.servicedesk import views

app_name = "servicedesk"

urlpatterns: list = []  # type: ignore[type-arg]
