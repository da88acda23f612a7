from django_tasks import task

from tandem.core.scoping import system_context
from tandem.tenancy.models import Tenant


@task()
def count_tenants_task() -> int:
    with system_context("registry probe: count tenants"):
        return Tenant.objects.count()
