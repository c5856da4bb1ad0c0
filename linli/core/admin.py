"""The admin site's shared rules: personal data masked with an audited reveal,
and every change to audited models written to the audit log.

The admin is where the city role keeps master data (as staff with the city
group's permissions, not as a superuser); it must show no more than the pages do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.masking import mask_address, mask_id_number, mask_phone
from linli.core.models import ApiToken, AuditLog, User
from linli.core.roles import may_reveal as roles_may_reveal
from linli.core.roles import staff_access_sync
from linli.core.services import audit_record

# The product's name on every admin page, instead of "Django 管理".
admin.site.site_header = gettext_lazy("邻里 管理后台")
admin.site.site_title = gettext_lazy("邻里 管理后台")
admin.site.index_title = gettext_lazy("基础数据")

MASKS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
}


def may_reveal(user: Any) -> bool:
    """Who may see a masked field in full, one audited reveal at a time."""
    return bool(user.is_superuser or roles_may_reveal(user))


class MaskedInput(forms.TextInput):
    """A text input that shows the stored value masked and keeps it when the
    masked text comes back unchanged, so saving a form never writes the mask
    over the real value. A value the user typed is shown as typed.
    """

    def __init__(
        self, *, real: str, mask: Callable[[str], str], revealable: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.real = real
        self.mask = mask
        self.revealable = revealable

    def format_value(self, value: Any) -> str | None:
        if self.real and value == self.real:
            return self.mask(self.real)
        return super().format_value(value)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        value = super().value_from_datadict(data, files, name)
        if self.real and value == self.mask(self.real):
            return self.real
        return value

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        html = super().render(name, value, attrs, renderer)
        if not self.real:
            return html
        if not self.revealable:
            hint = format_html(' <span class="help">{}</span>', _("已隐藏；不修改则保留原值。"))
            return mark_safe(html + hint)  # noqa: S308
        return mark_safe(html + reveal_button(name, keep_hint=True))  # noqa: S308


def reveal_form_id(name: str) -> str:
    return f"reveal-{name}"


def reveal_button(name: str, *, keep_hint: bool = False) -> str:
    # The button belongs to a small form of its own outside the change form
    # (the form attribute): forms cannot nest, and a submit button of the
    # change form itself would become its default, taking Enter from "save".
    hint = (
        format_html(' <span class="help">{}</span>', _("已隐藏；不修改则保留原值。"))
        if keep_hint
        else ""
    )
    return format_html(
        ' <button type="submit" class="button" style="margin-left: .5em" form="{}">{}</button>{}',
        reveal_form_id(name),
        _("查看明文（记入审计日志）"),
        hint,
    )


class MaskedAdmin(admin.ModelAdmin):
    """Masks ``masked_fields`` in lists, change forms and read-only pages.

    Columns: ``masked_phone``, ``masked_id_number``, ``masked_address``. A POST
    to ``<pk>/reveal/<field>/`` writes an ``AuditLog.Action.REVEAL`` entry and
    only then shows the value, like the pages' reveal.
    """

    masked_fields: ClassVar[tuple[str, ...]] = ()

    # Columns and read-only rows ---------------------------------------------

    def _masked(self, obj: models.Model, name: str) -> str:
        return MASKS[name](getattr(obj, name) or "")

    @admin.display(description=gettext_lazy("电话"))
    def masked_phone(self, obj: models.Model) -> str:
        return self._masked(obj, "phone")

    @admin.display(description=gettext_lazy("身份证号"))
    def masked_id_number(self, obj: models.Model) -> str:
        return self._masked(obj, "id_number")

    @admin.display(description=gettext_lazy("地址"))
    def masked_address(self, obj: models.Model) -> str:
        return self._masked(obj, "address")

    def _masked_detail(self, obj: models.Model, name: str) -> str:
        masked = self._masked(obj, name)
        if not masked or obj.pk is None:
            return masked
        return format_html("{}{}", masked, mark_safe(reveal_button(name)))  # noqa: S308

    @admin.display(description=gettext_lazy("电话"))
    def masked_phone_detail(self, obj: models.Model) -> str:
        return self._masked_detail(obj, "phone")

    @admin.display(description=gettext_lazy("身份证号"))
    def masked_id_number_detail(self, obj: models.Model) -> str:
        return self._masked_detail(obj, "id_number")

    @admin.display(description=gettext_lazy("地址"))
    def masked_address_detail(self, obj: models.Model) -> str:
        return self._masked_detail(obj, "address")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only page would print the raw values: show the masked rows.
            fields = [f"masked_{f}_detail" if f in self.masked_fields else f for f in fields]
        return fields

    # The change form ---------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:
            return form
        masked = [f for f in self.masked_fields if f in form.base_fields]
        revealable = may_reveal(request.user)

        class MaskedForm(form):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                for name in masked:
                    field = self.fields[name]
                    field.widget = MaskedInput(
                        real=getattr(self.instance, name) or "",
                        mask=MASKS[name],
                        revealable=revealable,
                        attrs=field.widget.attrs,
                    )

        MaskedForm.__name__ = form.__name__
        return MaskedForm

    # The reveal ---------------------------------------------------------------

    change_form_template = "admin/linli_masked_change_form.html"

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and may_reveal(request.user):
            context["reveal_forms"] = [
                (reveal_form_id(f), self.reveal_url(obj, f))
                for f in self.masked_fields
                if getattr(obj, f)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def reveal_url(self, obj: models.Model, name: str) -> str:
        opts = self.opts
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_reveal",
            args=[obj.pk, name],
        )

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        own = [
            path(
                "<path:object_id>/reveal/<str:field>/",
                self.admin_site.admin_view(self.reveal_view),
                name=f"{opts.app_label}_{opts.model_name}_reveal",
            )
        ]
        # Before the admin's own patterns: "<path:object_id>/" would swallow it.
        return own + super().get_urls()

    def reveal_view(self, request: HttpRequest, object_id: str, field: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if field not in self.masked_fields:
            raise Http404
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not (self.has_view_permission(request, obj) and may_reveal(request.user)):
            raise PermissionDenied
        with transaction.atomic():
            audit_record(
                actor=request.user,  # type: ignore[arg-type]
                action=AuditLog.Action.REVEAL,
                target=obj,
                field=field,
                request=request,
            )
        opts = self.opts
        column = opts.get_field(field)
        assert isinstance(column, models.Field)  # a masked field is a column of the model
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "original": obj,
            "title": _("查看明文"),
            "label": column.verbose_name,
            "value": getattr(obj, field),
            "change_url": reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[obj.pk],
            ),
        }
        return TemplateResponse(request, "admin/linli_reveal.html", context)


class AuditedAdmin(admin.ModelAdmin):
    """Additions, changes and deletions in the admin go to the audit log.

    The entry names the changed fields (and changed inlines), never their values.
    """

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        changed = [*form.changed_data, *(fs.prefix for fs in formsets if fs.has_changed())]
        if change and not changed:
            return
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditLog.Action.CHANGE if change else AuditLog.Action.CREATE,
            target=form.instance,
            field=changed[0] if len(changed) == 1 else "",
            detail="fields: " + ", ".join(changed),
            request=request,
        )

    def _audit_delete(self, request: HttpRequest, obj: models.Model) -> None:
        # Written before the delete, in the admin's transaction, while the pk exists.
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditLog.Action.DELETE,
            target=obj,
            detail=str(obj)[:100],
            request=request,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self._audit_delete(request, obj)
        super().delete_queryset(request, queryset)


# Fields only IT operations (a superuser) may set: with them, staff could give
# themselves every permission.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class LinliUserAdmin(AuditedAdmin, UserAdmin):
    list_display = ("username", "first_name", "role", "community", "is_active", "is_staff")
    list_filter = ("role", "community", "is_active", "is_staff", "is_superuser")
    fieldsets = (
        *UserAdmin.fieldsets,
        (gettext_lazy("角色与社区"), {"fields": ("role", "community")}),
    )  # type: ignore[misc]
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (gettext_lazy("角色与社区"), {"fields": ("role", "community")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return (*readonly, *PRIVILEGE_FIELDS)

    def _protected(self, request: HttpRequest, obj: Any) -> bool:
        """A superuser's account is changed only by a superuser."""
        return obj is not None and obj.is_superuser and not request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._protected(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._protected(request, obj) and super().has_delete_permission(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change or "role" in form.changed_data:
            # Staff access follows the role: the city role gets the city group.
            staff_access_sync(form.instance)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                audit_record(
                    actor=request.user,  # type: ignore[arg-type]
                    action=AuditLog.Action.CHANGE,
                    target=user,
                    field="password",
                    detail="fields: password",
                    request=request,
                )
        return response


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's plaintext is shown once, to its owner, by the API.
        return False

    @admin.action(description=gettext_lazy("吊销所选令牌"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Append-only: readable, never added, changed or deleted here."""

    list_display = ("at", "actor", "action", "target_type", "target_id", "field", "detail", "ip")
    list_filter = ("action", "target_type")
    search_fields = ("actor__username",)
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
