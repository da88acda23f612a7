"""The agent protocol at ``/agent/v1/`` and the agents' pages, in the ``agents`` namespace."""

from django.urls import include, path

from tandem.agents import protocol_views, views

TENANT = "tenants/<id:tenant_id>/"

urlpatterns = [
    path(
        "",
        include(
            (
                [
                    path("agent/v1/enrol", protocol_views.enrol, name="agent-enrol"),
                    path("agent/v1/check-in", protocol_views.check_in_view, name="agent-check-in"),
                    path(TENANT + "enrolment-tokens/", views.token_list, name="token-list"),
                    path(
                        TENANT + "enrolment-tokens/<id:enrolment_token_id>/revoke/",
                        views.token_revoke,
                        name="token-revoke",
                    ),
                    path(
                        TENANT + "devices/<id:device_id>/inventory/",
                        views.device_inventory,
                        name="device-inventory",
                    ),
                ],
                "agents",
            )
        ),
    ),
]
