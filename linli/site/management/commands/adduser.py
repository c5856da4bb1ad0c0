from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from linli.core.models import User
from linli.core.roles import COMMUNITY_ROLES, Role, staff_access_sync
from linli.network.models import Center


class Command(BaseCommand):
    help = "Create an account with a role (and a community for community roles)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--community", help="community center code, e.g. baihua")
        parser.add_argument(
            "--password",
            help="omit to be asked for it (or to create a login-less account with --no-password)",
        )
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument(
            "--no-password", action="store_true", help="create without a usable password"
        )
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="all permissions in the admin, for IT operations (the city role does not need it)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        username: str = opts["username"].strip()
        role: str = opts["role"]
        if not username:
            raise CommandError("username must not be empty")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"an account named {username!r} already exists")
        community = None
        if opts["community"]:
            try:
                community = Center.objects.get(code=opts["community"], kind=Center.Kind.COMMUNITY)
            except Center.DoesNotExist as exc:
                raise CommandError(f"no community center with code {opts['community']!r}") from exc
        if role in COMMUNITY_ROLES and community is None:
            raise CommandError(f"role {role} needs --community CODE")
        if role == Role.CITY and community is not None:
            raise CommandError("the city admin works across communities: leave out --community")
        # The city role keeps the master data in the admin site through its
        # group's permissions (staff_access_sync); a superuser is only made on request.
        user = User(
            username=username,
            role=role,
            community=community,
            first_name=opts["name"],
            is_staff=opts["superuser"],
            is_superuser=opts["superuser"],
        )
        password = opts["password"]
        if opts["no_password"]:
            user.set_unusable_password()
        else:
            if password is None:
                password = getpass.getpass("Password: ")
            if not password:
                raise CommandError("the password must not be empty")
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(password)
        try:
            user.full_clean()
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        with transaction.atomic():
            user.save()
            staff_access_sync(user)
        where = f" in {community.name} ({community.code})" if community else ""
        su = ", superuser" if user.is_superuser else ""
        self.stdout.write(self.style.SUCCESS(f"created {username} ({role}{su}){where}"))
