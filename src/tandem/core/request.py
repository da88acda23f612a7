"""The request as Tandem's handlers see it, and the tenant its path names.

Every page and API operation used to read ``request.principal`` past the type checker
(``# type: ignore``) and to re-write "the tenant in the path, if the principal reaches it"
in its own module. Handlers now take a ``TandemRequest`` and call ``tenant_in_reach``:

    @page("audit.view_auditentry")
    def log(request: TandemRequest, tenant_id: int) -> HttpResponse:
        tenant = tenant_in_reach(request.principal, tenant_id, "audit.view_auditentry")

Ninja handlers take the same class (ninja skips the ``request`` parameter by name, whatever
its type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.http import Http404, HttpRequest

from tandem.core import policies
from tandem.core.errors import InvalidInput
from tandem.core.principal import Principal

if TYPE_CHECKING:  # type only: core finds the tenant model by name at run time
    from django_htmx.middleware import HtmxDetails

    from tandem.tenancy.models import Tenant

#: The tenant model, named as core's models name it (``TenantOwned.tenant``): core imports
#: no app (docs/architecture.md, "Dependencies").
TENANT_MODEL = "tenancy.Tenant"
#: What a page says when the tenant in its path is out of the principal's reach.
NOT_FOUND = "no such page"


class TandemRequest(HttpRequest):
    """An ``HttpRequest`` after Tandem's middleware: ``principal`` is always set
    (``ANONYMOUS`` when nobody signed in; ``accounts.middleware``), ``htmx`` by django-htmx."""

    principal: Principal
    htmx: HtmxDetails
    #: The API token that authenticated the request, if any (an ``accounts.ApiToken``).
    api_token: Any
    #: A bearer token was sent and did not match a live token.
    api_token_invalid: bool


def principal_of(request: HttpRequest) -> Principal:
    """The acting principal of any request that passed the middleware."""
    principal: Principal = request.principal  # type: ignore[attr-defined]
    return principal


def tenant_in_reach(principal: Principal, tenant_id: int, action: str | None = None) -> Tenant:
    """The tenant ``tenant_id`` if the principal sees it and, when ``action`` is given,
    may ``action`` in it; otherwise 404, the same answer as for a tenant that does not exist.

    The tenant is looked up through ``tenancy.view_tenant`` (its visibility rule), then the
    action is checked on it; a tenant the principal sees but may not ``action`` in is
    "no such page".
    """
    model = apps.get_model(TENANT_MODEL)
    tenant: Tenant = policies.get_visible_or_404(
        principal, "tenancy.view_tenant", model.objects.all(), pk=tenant_id
    )
    if action is not None and not policies.allowed(principal, action, tenant):
        raise Http404(NOT_FOUND)
    return tenant


def tenant_in_body(principal: Principal, tenant_id: int) -> Tenant:
    """The tenant a request body names, if the principal sees it. In a body an unreachable
    id is a field error (422 "No such tenant."), not a missing page."""
    try:
        return tenant_in_reach(principal, tenant_id)
    except Http404 as exc:
        raise InvalidInput({"tenant_id": ["No such tenant."]}) from exc
