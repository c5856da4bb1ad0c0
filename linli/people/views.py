from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.errors import InvalidInput
from linli.core.http import AuthedRequest
from linli.core.roles import IMPORTERS, may_reveal
from linli.core.scoping import require_role
from linli.people import ages
from linli.people.forms import ResidentForm
from linli.people.importing import resident_import
from linli.people.models import CareTag
from linli.people.permissions import may_reset_password
from linli.people.selectors import MaskedResident, resident_get, resident_list
from linli.people.services import resident_password_reset, resident_register, resident_reveal

PAGE_SIZE = 30


@login_required
def resident_list_view(request: AuthedRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    age_group = request.GET.get("age", "")
    tag = request.GET.get("tag", "")
    qs = resident_list(request.user, q=q, age_group=age_group, tag=tag)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [MaskedResident(r) for r in page.object_list],
        "q": q,
        "age": age_group,
        "tag": tag,
        "age_groups": ages.GROUPS,
        "tags": CareTag.objects.all(),
    }
    template = "people/_results.html" if request.htmx else "people/list.html"
    return render(request, template, context)


@login_required
def resident_detail_view(request: AuthedRequest, pk: int) -> HttpResponse:
    resident = resident_get(request.user, pk)
    return render(
        request,
        "people/detail.html",
        {
            "resident": resident,
            "masked": MaskedResident(resident),
            "can_reveal": may_reveal(request.user),
            "can_reset_password": bool(may_reset_password(request.user, resident)),
        },
    )


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("新密码"),
        required=False,
        strip=False,
        max_length=128,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("留空则自动生成一个临时密码。"),
    )


@login_required
def resident_password_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """The desk sets a new password for a resident who forgot theirs.

    The new password is shown once, on the answer to the POST, so that the
    staff member can tell the resident; it is kept nowhere else.
    """
    resident = resident_get(request.user, pk)
    may_reset_password(request.user, resident).check(visible=lambda: True)
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password = resident_password_reset(
                actor=request.user,
                resident_id=resident.pk,
                password=form.cleaned_data["password"],
                request=request,
            )
        except InvalidInput as exc:
            for error in exc.fields.get("password", [exc.message]):
                form.add_error("password", error)
        else:
            response = render(
                request,
                "people/password_done.html",
                {"resident": resident, "account": resident.account, "password": password},
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "people/password.html", {"resident": resident, "form": form})


@login_required
@require_POST
def resident_reveal_view(request: AuthedRequest, pk: int, field: str) -> HttpResponse:
    value = resident_reveal(actor=request.user, resident_id=pk, field=field, request=request)
    return render(request, "people/_revealed.html", {"value": value, "field": field})


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel 文件（.xlsx）"))

    def clean_file(self) -> UploadedFile:
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("请上传 .xlsx 格式的 Excel 文件。"))
        if f.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("文件不能超过 20 MB。"))
        return f


@login_required
def resident_import_view(request: AuthedRequest) -> HttpResponse:
    require_role(request.user, IMPORTERS)
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = resident_import(
            actor=request.user, file=form.cleaned_data["file"], request=request
        )
        if result.ok:
            messages.success(
                request,
                _("导入完成：新增 %(created)d 人，更新 %(updated)d 人，无变化 %(unchanged)d 人。")
                % {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
            )
            return redirect("people:list")
    return render(request, "people/import.html", {"form": form, "result": result})


@login_required
def resident_register_view(request: AuthedRequest) -> HttpResponse:
    require_role(request.user, IMPORTERS)
    form = ResidentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            resident = resident_register(
                actor=request.user, data=form.cleaned_data, request=request
            )
        except InvalidInput as exc:
            for name, errors in exc.fields.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, _("已登记居民 %(name)s。") % {"name": resident.name})
            return redirect("people:detail", pk=resident.pk)
    return render(request, "people/register.html", {"form": form})
