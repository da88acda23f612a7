from django.urls import path

from tandem.tenancy import views

app_name = "tenancy"

urlpatterns: list = []
