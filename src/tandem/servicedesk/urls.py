from django.urls import path

from tandem.servicedesk import views

app_name = "servicedesk"

urlpatterns = [
    path("tickets/", views.my_queue, name="my-queue"),
    path("tenants/<id:tenant_id>/tickets/", views.tickets, name="tickets"),
    path("tenants/<id:tenant_id>/tickets/new/", views.ticket_create, name="ticket-create"),
    path("tenants/<id:tenant_id>/tickets/log/", views.ticket_log, name="ticket-log"),
    path("tickets/<id:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<id:ticket_id>/comments/", views.ticket_comment, name="ticket-comment"),
    path("tickets/<id:ticket_id>/status/", views.ticket_status, name="ticket-status"),
    path("tickets/<id:ticket_id>/priority/", views.ticket_priority, name="ticket-priority"),
    path("tickets/<id:ticket_id>/handoff/", views.ticket_handoff, name="ticket-handoff"),
    path("tickets/<id:ticket_id>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<id:ticket_id>/time/", views.ticket_time, name="ticket-time"),
    path("tenants/<id:tenant_id>/matrix/", views.matrix, name="matrix"),
    path(
        "tenants/<id:tenant_id>/matrix/rows/new/",
        views.matrix_row_create,
        name="matrix-row-create",
    ),
    path(
        "tenants/<id:tenant_id>/matrix/rows/<id:matrix_row_id>/remove/",
        views.matrix_row_remove,
        name="matrix-row-remove",
    ),
    path("portal/", views.portal, name="portal"),
    path("portal/<id:tenant_id>/new/", views.portal_new, name="portal-new"),
    path("portal/tickets/<id:ticket_id>/", views.portal_ticket, name="portal-ticket"),
    path("portal/tickets/<id:ticket_id>/reply/", views.portal_reply, name="portal-reply"),
    path("portal/tickets/<id:ticket_id>/close/", views.portal_close, name="portal-close"),
    path("portal/tickets/<id:ticket_id>/rate/", views.portal_rate, name="portal-rate"),
]
