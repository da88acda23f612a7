"""Pages: the signed-in person's own notifications, and marking them read."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.core.actions import page
from tandem.core.policies import SIGNED_IN
from tandem.notifications import queries, services


@page(SIGNED_IN)
def notification_list(request: HttpRequest) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    unread_only = request.GET.get("unread") == "1"
    rows = queries.own_notifications(principal, unread=True if unread_only else None)
    page_obj = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/notification_list.html",
        {
            "page_obj": page_obj,
            "notifications": page_obj.object_list,
            "unread_only": unread_only,
            "unread_count": queries.unread_count(principal),
            "section": "notifications",
        },
    )


@page(SIGNED_IN)
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    notification = queries.own_notifications(principal).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("no such notification")
    services.mark_notification_read(actor=principal, notification=notification)
    return redirect("notifications:notifications")


@page(SIGNED_IN)
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(actor=request.principal)  # type: ignore[attr-defined]
    return redirect("notifications:notifications")
