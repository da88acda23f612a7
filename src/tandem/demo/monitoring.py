"""The demo's security monitoring (decision 0050): what makes Contoso's alert queue and its
syslog intake work out of the box.

- :func:`add_demo_syslog_source`: a syslog source for the senders on this machine
  (``127.0.0.0/8`` and ``::1``), so the listener ``tandem up`` starts on 127.0.0.1:5514 takes
  a line sent with ``logger`` instead of refusing every sender (a listener without a source
  knows no tenant to file the line under);
- :func:`raise_demo_alerts`: a few alerts, recorded as the detection worker records them.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tandem.alerts.detections import Detection
from tandem.alerts.services import record_detections
from tandem.core.principal import Principal
from tandem.logs.choices import SourceKind
from tandem.logs.models import IngestSource
from tandem.logs.services import create_ingest_source
from tandem.tenancy.models import Tenant

#: The networks of the demo's syslog source: this machine only (the listener ``tandem up``
#: starts listens on loopback).
DEMO_SYSLOG_NETWORKS = ("127.0.0.0/8", "::1/128")
DEMO_SYSLOG_SOURCE = "This machine (syslog, demo)"


def add_demo_syslog_source(actor: Principal, tenant: Tenant) -> IngestSource:
    """The demo tenant's syslog source for senders on this machine."""
    source, _token = create_ingest_source(
        actor=actor,
        tenant=tenant,
        name=DEMO_SYSLOG_SOURCE,
        kind=SourceKind.SYSLOG,
        allowed_networks=DEMO_SYSLOG_NETWORKS,
    )
    return source


def raise_demo_alerts(tenant: Tenant) -> None:
    """A few security alerts for Contoso, as the detection worker records them: Sentinel's
    queue has something to triage, and each alert opens its routed ticket (decision 0037)."""
    now = timezone.now()
    detections = []
    for minutes in range(12):
        at = now - dt.timedelta(minutes=40 - minutes)
        detections.append(
            Detection(
                rule_id="demo-failed-logons",
                rule_title="Repeated failed logons for one account",
                level="medium",
                tags=["attack.credential_access", "attack.t1110.001"],
                host="ctso-dc01",
                time=at,
                event={
                    "Event": {
                        "System": {"EventID": 4625, "Channel": "Security", "Computer": "ctso-dc01"},
                        "EventData": {"TargetUserName": "j.doe", "IpAddress": "203.0.113.7"},
                    },
                    "_host": "ctso-dc01",
                    "_time": at.isoformat(),
                },
                key_fields={"TargetUserName": "j.doe"},
            )
        )
    detections.append(
        Detection(
            rule_id="demo-encoded-powershell",
            rule_title="PowerShell with an encoded command",
            level="high",
            tags=["attack.execution", "attack.t1059.001"],
            host="ctso-lt-042",
            time=now - dt.timedelta(minutes=5),
            event={
                "Event": {
                    "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
                    "EventData": {
                        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                        "CommandLine": "powershell.exe -NoP -W Hidden -enc SQBFAFgA",
                    },
                },
                "_host": "ctso-lt-042",
            },
        )
    )
    record_detections(tenant_id=tenant.pk, detections=detections)
