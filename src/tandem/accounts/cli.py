"""``tandem`` sub-commands of people and access: users created by an operator."""

from __future__ import annotations

import argparse
import sys

from tandem.core.cli import Commands, system_actor


def cmd_createuser(args: argparse.Namespace) -> int:
    import getpass

    from tandem.accounts.services import create_user

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.operator:
        password = getpass.getpass("Password: ")
    user = create_user(
        actor=system_actor("createuser"),
        email=args.email,
        full_name=args.name,
        password=password,
        is_superuser=args.operator,
    )
    print(f"Created user {user.email} (id {user.pk}).")
    return 0


def register(commands: Commands) -> None:
    add = commands.add
    p = add(
        "createuser", cmd_createuser, "Create a user (use --operator for an instance operator)."
    )
    p.add_argument("email")
    p.add_argument("name")
    p.add_argument("--operator", action="store_true", help="may create tenants and providers")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
