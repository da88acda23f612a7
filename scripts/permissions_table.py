"""Rewrite the generated role table in docs/permissions.md from the code (make docs)."""

import re
from pathlib import Path

from tandem.accounts.roles import permissions_table

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
text = DOC.read_text()
text = re.sub(
    r"(<!-- roles:begin -->\n).*?(\n<!-- roles:end -->)",
    lambda m: m.group(1) + permissions_table() + m.group(2),
    text,
    flags=re.S,
)
DOC.write_text(text)
