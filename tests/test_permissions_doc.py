"""docs/permissions.md stays true to the code."""

import re
from pathlib import Path

from tandem.accounts.roles import BUILTIN_ROLES, permissions_table
from tandem.core.policies import registered_actions

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"


def test_role_table_matches_the_code() -> None:
    text = DOC.read_text()
    block = re.search(r"<!-- roles:begin -->\n(.*?)\n<!-- roles:end -->", text, re.S)
    assert block, "docs/permissions.md lost its generated role table markers"
    assert block.group(1).strip() == permissions_table(), (
        "regenerate the table with tandem.accounts.roles.permissions_table()"
    )


def test_every_role_permission_has_a_policy() -> None:
    actions = registered_actions()
    # "view_all" is a qualifier read by the audit policy, not an action of its own.
    qualifiers = {"audit.view_all_auditentry", "servicedesk.view_all_ticket"}
    orphans = {p for role in BUILTIN_ROLES for p in role.permissions} - actions - qualifiers
    assert orphans == set()
