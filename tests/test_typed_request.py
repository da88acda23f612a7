"""One way to get the request's principal and the tenant in its path (docs/architecture.md,
"A request, end to end"): handlers take a ``core.request.TandemRequest`` and call
``tenant_in_reach`` or ``tenant_in_body``; no module reads ``request.principal`` past the
type checker or keeps its own copy of those helpers."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "tandem"

#: The one place that reads the attribute untyped: ``core.request.principal_of``.
CORE = {"core/request.py"}

COPIES = re.compile(
    r"request\.principal\s*#\s*type:\s*ignore"
    r"|^def _principal\(request\b"
    r"|^def _tenant_for\("
    r"|^def _user\(request\b",
    re.MULTILINE,
)


def test_no_module_keeps_its_own_copy_of_the_request_helpers() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative in CORE or "/tests/" in f"/{relative}":
            continue
        for match in COPIES.finditer(path.read_text()):
            line = path.read_text().count("\n", 0, match.start()) + 1
            found.append(f"src/tandem/{relative}:{line}: {match.group(0)}")
    assert not found, (
        "Take a TandemRequest and use request.principal, core.request.tenant_in_reach or "
        "tenant_in_body instead:\n" + "\n".join(found)
    )
