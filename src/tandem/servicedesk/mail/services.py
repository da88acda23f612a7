"""Writes of the desk's mail: a tenant's templates here; what other apps may call of the
inbound and outbound mail (the mail review, mail to IT people) is named here too, so they
import this public module rather than the mail's workings."""

from __future__ import annotations

from django.db import transaction

from tandem.audit.services import diff, record_audit
from tandem.core.errors import require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_text
from tandem.servicedesk.choices import (
    MailKind,
)
from tandem.servicedesk.mail.inbound import (
    ACCEPTABLE,
    accept_inbound_message,
    retry_inbound_message,
)
from tandem.servicedesk.mail.models import MailTemplate
from tandem.servicedesk.mail.outbound import (
    ItMail,
    queue_message,
    register_it_mail,
    retry_outbound_message,
    validate_template,
)
from tandem.tenancy.models import Tenant

__all__ = [
    "ACCEPTABLE",
    "ItMail",
    "accept_inbound_message",
    "queue_message",
    "register_it_mail",
    "retry_inbound_message",
    "retry_outbound_message",
    "set_mail_template",
]


def set_mail_template(
    *, actor: Principal, tenant: Tenant, kind: str, subject: str, body: str
) -> MailTemplate | None:
    """Set the tenant's wording for one kind of notification. An empty subject and body go
    back to the built-in wording. Templates are compiled and rendered with sample values
    before they are kept, and may use a limited set of tags."""
    authorize(actor, "servicedesk.change_matrix", tenant)
    require(kind in MailKind.values, "kind", f"Use one of: {', '.join(MailKind.values)}.")
    subject = (subject or "").strip()
    body = clean_text(body, field="body", max_length=10_000)
    reset = not subject and not body
    if not reset:
        require(bool(subject), "subject", "Write the subject.")
        require("\n" not in subject, "subject", "The subject is one line.")
        require(len(subject) <= 300, "subject", "At most 300 characters.")
        require(bool(body), "body", "Write the body.")
        validate_template(subject, field="subject")
        validate_template(body, field="body")
    with transaction.atomic(), within_tenant(tenant.pk):
        template = MailTemplate.objects.filter(tenant=tenant, kind=kind).first()
        before = {"subject": template.subject, "body": template.body} if template else {}
        if reset:
            if template is not None:
                record_audit(
                    actor=actor,
                    action="servicedesk.set_mail_template",
                    target=template,
                    tenant_id=tenant.pk,
                    changes=diff(before, {}),
                )
                template.delete()
            return None
        if template is None:
            template = MailTemplate(tenant=tenant, kind=kind)
        template.subject, template.body = subject, body
        template.save()
        record_audit(
            actor=actor,
            action="servicedesk.set_mail_template",
            target=template,
            tenant_id=tenant.pk,
            changes=diff(before, {"subject": subject, "body": body}),
        )
    return template
