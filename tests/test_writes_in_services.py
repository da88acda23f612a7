"""Writes go through services: no ORM write outside a services module.

An AST scan of ``src/tandem`` finds every call of an ORM write method (``save``, ``delete``,
``create``, ``update``, ``bulk_create``, ``bulk_update``, ``get_or_create``,
``update_or_create``) and fails on one outside:

- a services module (``services.py`` or ``<thing>_services.py``: every write of an app or
  aggregate, keyword-only, audited in its transaction),
- the migrations, the app's tests, and the scale generator (``tandem.scale``, which
  bulk-writes millions of rows past the services on purpose, docs/operations.md),
- ``ALLOWED`` below: modules (or one function of a module) that write for a reason other
  than an act of a person, each with that reason. The list only shrinks; an entry that
  allows nothing fails the test, so it cannot outlive its write.

The scan reads names, not types, so it is kept honest by two rules about what is not a write:
a call used as a decorator (``@router.delete("/...")``, an HTTP verb), and ``create``,
``update``, ``get_or_create`` and ``update_or_create`` called with a positional argument
(``dict.update(other)``, ``hash.update(data)``, ``AppConfig.create(entry)``): Django's
``QuerySet`` takes keyword arguments only for those. Raw SQL is not seen; the few statements
there are (ticket numbers) live in services. ``test_the_scan_catches_a_write`` proves the scan
on small sources.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

WRITES = frozenset(
    {
        "save",
        "delete",
        "create",
        "update",
        "bulk_create",
        "bulk_update",
        "get_or_create",
        "update_or_create",
    }
)
#: QuerySet's signatures for these take keywords only: a positional argument means another
#: object's method of the same name.
KEYWORD_ONLY = frozenset({"create", "update", "get_or_create", "update_or_create"})

#: Writes outside services, each with its reason. Keys: a module, or ``module:function``
#: (the qualified name inside the module, e.g. ``UserManager.create_user``).
ALLOWED: dict[str, str] = {
    # Model and manager internals: what a ``save()`` is, not a use of it.
    "tandem.accounts.models:UserManager.create_user": (
        "Django's manager contract (createsuperuser and the services call it)"
    ),
    "tandem.servicedesk.config.models:DeskSettings.save": (
        "the override that leaves the counters to targeted updates"
    ),
    # Bookkeeping that belongs to no one's act, in the caller's transaction.
    "tandem.accounts.access_cache:invalidate": (
        "the access cache's version token, replaced by the services that change access"
    ),
    "tandem.accounts.tokens:find_live_token": (
        "when an API token was last used (throttled), while the request's principal is "
        "resolved: bookkeeping, not an act"
    ),
    "tandem.servicedesk.desk_config:invalidate": (
        "the desk configuration cache's token, for writes that bypass save() (decision 0013)"
    ),
    # The framework's machinery.
    "tandem.core.events": (
        "the transactional outbox: records events for services and marks subscribers done"
    ),
    "tandem.core.scheduler": "claims each periodic job's run, one worker per run",
    # The desk's machinery that services and periodic jobs call.
    "tandem.servicedesk.sla_bridge": (
        "stores the clocks recomputed from the tickets' events, inside the calling service's "
        "transaction or after commit of a configuration change"
    ),
    "tandem.servicedesk.sla_alerts:raise_alert": (
        "the SLA watcher (a periodic job) remembers each warning and breach once, with its "
        "event; no person acts"
    ),
    "tandem.servicedesk.mail.inbound": (
        "the mail pipeline: keeps every accepted message and its outcome; acting on one calls "
        "the ticket services, and accepting or retrying one is audited here"
    ),
    "tandem.servicedesk.mail.outbound": (
        "the mail pipeline: queues, sends and retries outgoing messages and records delivery"
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def may_write(module: str) -> bool:
    """Services, migrations, tests and the scale generator write by design."""
    parts = module.split(".")
    last = parts[-1]
    return (
        last == "services"
        or last.endswith("_services")
        or "migrations" in parts
        or "tests" in parts
        or module == "tandem.scale"
        or module.startswith("tandem.scale.")
    )


def writes_in(source: str) -> list[tuple[str, int, str]]:
    """(qualified function name, line, method) of every ORM write call in ``source``."""
    found: list[tuple[str, int, str]] = []

    def is_write(call: ast.Call) -> bool:
        if not isinstance(call.func, ast.Attribute) or call.func.attr not in WRITES:
            return False
        return not (call.func.attr in KEYWORD_ONLY and call.args)

    def visit(node: ast.AST, scope: list[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                # ``@router.delete("/...")`` names an HTTP verb: the decorator call itself is
                # no write, though what it is given is looked at.
                for part in ast.iter_child_nodes(decorator):
                    visit(part, scope)
            for child in ast.iter_child_nodes(node):
                if child not in node.decorator_list:
                    visit(child, [*scope, node.name])
            return
        if isinstance(node, ast.Call) and is_write(node):
            assert isinstance(node.func, ast.Attribute)
            found.append((".".join(scope), node.lineno, node.func.attr))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(source), [])
    return found


def allowing(module: str, function: str) -> str | None:
    """The ``ALLOWED`` key that covers a write in ``function`` of ``module``, if any."""
    for key in (f"{module}:{function}", module):
        if key in ALLOWED:
            return key
    # A nested function is covered by the entry of the function around it.
    parts = function.split(".")
    for end in range(len(parts) - 1, 0, -1):
        key = f"{module}:{'.'.join(parts[:end])}"
        if key in ALLOWED:
            return key
    return None


def test_orm_writes_are_in_services_only() -> None:
    unlisted: list[str] = []
    used: set[str] = set()
    for path in sorted((SRC / "tandem").rglob("*.py")):
        module = module_name(path)
        if may_write(module):
            continue
        for function, line, method in writes_in(path.read_text()):
            key = allowing(module, function)
            if key is None:
                unlisted.append(f"{path.relative_to(ROOT)}:{line} .{method}() in {function}()")
            else:
                used.add(key)
    assert not unlisted, (
        "An ORM write outside a services module. Move it into the app's (or aggregate's) "
        "services, or list it in ALLOWED with the reason:\n" + "\n".join(unlisted)
    )
    stale = sorted(ALLOWED.keys() - used)
    assert not stale, f"ALLOWED entries that allow nothing any more (remove them): {stale}"


def test_every_allowed_write_says_why() -> None:
    for key, reason in ALLOWED.items():
        assert len(reason) > 20, key


def test_the_scan_catches_a_write() -> None:
    source = (
        "from x import Ticket, router\n"
        "def close(ticket):\n"
        "    ticket.status = 'closed'\n"
        "    ticket.save(update_fields=['status'])\n"
        "class Page:\n"
        "    def post(self):\n"
        "        Ticket.objects.filter(pk=1).update(status='open')\n"
        "        def later():\n"
        "            Ticket.objects.get_or_create(number=1)\n"
        "        Ticket.objects.bulk_create([])\n"
        "        Ticket.objects.create(**{'a': 1})\n"
    )
    assert writes_in(source) == [
        ("close", 4, "save"),
        ("Page.post", 7, "update"),
        ("Page.post.later", 9, "get_or_create"),
        ("Page.post", 10, "bulk_create"),
        ("Page.post", 11, "create"),
    ]


def test_the_scan_leaves_other_methods_of_the_same_name_alone() -> None:
    source = (
        "@router.delete('/things/{id}')\n"
        "def remove(request, id):\n"
        "    context = {}\n"
        "    context.update({'a': 1})\n"
        "    digest.update(b'data')\n"
        "    return AppConfig.create('tandem.core')\n"
    )
    assert writes_in(source) == []


def test_services_migrations_tests_and_scale_may_write() -> None:
    assert may_write("tandem.servicedesk.tickets.services")
    assert may_write("tandem.servicedesk.tickets.note_services")
    assert may_write("tandem.servicedesk.migrations.0021_desk_settings_for_every_tenant")
    assert may_write("tandem.servicedesk.tickets.tests.test_ticket_services")
    assert may_write("tandem.scale.setup")
    assert not may_write("tandem.servicedesk.tickets.views")
    assert not may_write("tandem.servicedesk.services_config")  # not a services module
    assert not may_write("tandem.scaled")
    assert allowing("tandem.accounts.models", "UserManager.create_user") is not None
    assert allowing("tandem.accounts.models", "UserManager.create_superuser") is None
