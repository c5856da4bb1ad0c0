from __future__ import annotations

import axes.apps
import django_tasks_db.apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = _("核心")
    # This module holds other apps' configs too: this one is linli.core's.
    default = True

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from linli.core.roles import city_group_sync

        # Every app's post_migrate, so each app's new permissions join the group.
        post_migrate.connect(city_group_sync, dispatch_uid="linli.city_group_sync")


def _rename(model: type, one: object, many: object) -> None:
    # Names only (the admin's headings): the migration state reads the model's
    # Meta as declared, so this changes no schema and asks for no migration.
    model._meta.verbose_name = one  # type: ignore[attr-defined]
    model._meta.verbose_name_plural = many  # type: ignore[attr-defined]


class AxesConfig(axes.apps.AppConfig):
    """django-axes (the login lockout), named in Chinese and English in the admin."""

    default = False
    verbose_name = _("登录保护")

    def ready(self) -> None:
        super().ready()
        from axes.models import AccessAttempt, AccessAttemptExpiration, AccessFailureLog, AccessLog

        _rename(AccessAttempt, _("登录失败计数"), _("登录失败计数"))
        _rename(AccessFailureLog, _("登录失败记录"), _("登录失败记录"))
        _rename(AccessLog, _("登录记录"), _("登录记录"))
        _rename(AccessAttemptExpiration, _("登录失败计数有效期"), _("登录失败计数有效期"))


class TasksDatabaseConfig(django_tasks_db.apps.TasksAppConfig):
    """django-tasks' database backend (the worker's job queue), named likewise."""

    default = False
    verbose_name = _("后台任务")  # type: ignore[assignment]

    def ready(self) -> None:
        super().ready()
        from django_tasks_db.models import DBTaskResult

        _rename(DBTaskResult, _("任务记录"), _("任务记录"))
