"""The detection part of the persona world (tests/personas.py; decision 0044).

- the starter pack, recorded as installed (``rule_pack``);
- ``custom_rule``: Acme's, on; ``custom_rule_off``: Acme's, turned off; ``other_custom_rule``:
  Globex's. Acme's IT and Sentinel (engaged for Acme's security monitoring) read Acme's;
  Sentinel's engagement does not allow ``security.rules``, so Acme's IT changes them;
- Acme turned the starter pack's sudo rule off (``DISABLED_RULE``);
- ``placeholder_list``: Acme's ``%acme_world_dcs%``; ``other_placeholder_list``: Globex's
  ``%globex_world_dcs%`` (decision 0051).
"""

from __future__ import annotations

from typing import Any

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.detection import services
from tandem.detection.engine import load_rules
from tandem.detection.models import CustomRule
from tandem.detection.packs import STARTER
from tandem.tenancy.models import Tenant

#: The starter pack's rules the world uses: one Acme turned off, one still on.
DISABLED_RULE = "a69d6d7e-978f-4689-80e9-ef77ab369043"
ENABLED_RULE = "62200aea-e306-48af-971a-809d536d3e8c"


def custom_yaml(rule_id: str, title: str, needle: str = "world-needle") -> str:
    """A small valid custom rule (a Linux keyword rule)."""
    return (
        f"title: {title}\n"
        f"id: {rule_id}\n"
        "status: experimental\n"
        "logsource:\n    product: linux\n"
        f"detection:\n    keywords:\n        - '{needle}'\n    condition: keywords\n"
        "level: high\n"
    )


def build_detection_world(world: Any) -> None:
    actor = system_principal("build the test world: detection rules")
    [pack] = services.sync_installed_packs(
        actor=actor, rulesets=[load_rules(STARTER, name="starter")]
    )
    world.ids["rule_pack"] = pack.pk
    with system_context("test world: detection rules"):
        acme = Tenant.objects.get(pk=world["tenant"])
        globex = Tenant.objects.get(pk=world["other_tenant"])
    specs = (
        ("custom_rule", acme, "0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a0001", "Acme world custom rule"),
        ("custom_rule_off", acme, "0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a0002", "Acme world rule off"),
        (
            "other_custom_rule",
            globex,
            "0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a0003",
            "Globex world custom rule",
        ),
    )
    for name, tenant, rule_id, title in specs:
        [rule] = services.upload_custom_rules(
            actor=actor, tenant=tenant, files={f"{name}.yml": custom_yaml(rule_id, title).encode()}
        )
        world.ids[name] = rule.pk
    with system_context("test world: a custom rule turned off"):
        off = CustomRule.objects.get(pk=world["custom_rule_off"])
    services.set_custom_rule_enabled(actor=actor, rule=off, enabled=False, reason="World: noisy")
    services.disable_rule(actor=actor, tenant=acme, rule_id=DISABLED_RULE, reason="World: noisy")
    for name, tenant, list_name in (
        ("placeholder_list", acme, "acme_world_dcs"),
        ("other_placeholder_list", globex, "globex_world_dcs"),
    ):
        row = services.create_placeholder_list(
            actor=actor,
            tenant=tenant,
            name=list_name,
            values=[f"{list_name}-01.example.test", "10.0.0.10"],
            description="World: the domain controllers",
        )
        world.ids[name] = row.pk
