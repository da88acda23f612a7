"""Pages of the requester portal, mounted in the ``servicedesk`` namespace by
``servicedesk/urls.py``."""

from django.urls import path

from tandem.servicedesk.portal import views

urlpatterns = [
    path("portal/", views.portal, name="portal"),
    path("portal/<id:tenant_id>/new/", views.portal_new, name="portal-new"),
    path("portal/tickets/<id:ticket_id>/", views.portal_ticket, name="portal-ticket"),
    path("portal/tickets/<id:ticket_id>/reply/", views.portal_reply, name="portal-reply"),
    path("portal/tickets/<id:ticket_id>/close/", views.portal_close, name="portal-close"),
    path("portal/tickets/<id:ticket_id>/rate/", views.portal_rate, name="portal-rate"),
]
