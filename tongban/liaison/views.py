"""The liaison directory pages (联络人): the province-wide directory with search and a unit-tree
filter, the list of units without a liaison, and the edit page of the own unit."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tongban.accounts.models import User
from tongban.core.errors import ServiceError
from tongban.liaison import selectors
from tongban.liaison.models import LIAISON_KINDS, MAX_LIAISONS_PER_UNIT, Duty
from tongban.liaison.services import LiaisonEntry, can_manage, liaisons_replace


def _staff(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("unit.view"):
        raise Http404
    return user


class DirectoryForm(forms.Form):
    q = forms.CharField(label="单位名称或代码", required=False, max_length=50)
    unit = forms.ChoiceField(label="所属", required=False)
    duty = forms.ChoiceField(label="联络事项", required=False, choices=[("", "全部"), *Duty.choices])
    assigned = forms.BooleanField(label="只看已指定", required=False)

    def __init__(self, *args: Any, tree: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = [("", "全省")] + [
            (unit.code, f"{'　' * max(unit.depth - 1, 0)}{unit.name}") for unit in tree
        ]


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    # The tree filter offers the province's cities and counties; stations are found by search.
    tree = list(selectors.directory_units(user).exclude(kind="station").order_by("path"))
    form = DirectoryForm(request.GET or None, tree=tree)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    filters = selectors.DirectoryFilters(
        q=data.get("q", "").strip(),
        unit=data.get("unit", ""),
        duty=data.get("duty", ""),
        assigned_only=bool(data.get("assigned")),
    )
    page = selectors.directory_page(user, filters, after=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "liaison/directory.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            # Offered only where the edit page opens: liaisons are kept by cities, counties, stations.
            "own_unit": user.unit
            if user.unit and user.unit.kind in LIAISON_KINDS and can_manage(user, user.unit)
            else None,
            "missing_count": len(selectors.units_without_liaison(user))
            if user.can("liaison.manage")
            else None,
        },
    )


@login_required
def missing(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    if not user.can("liaison.manage"):
        raise Http404
    return render(request, "liaison/missing.html", {"units": selectors.units_without_liaison(user)})


class LiaisonForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=50, required=False)
    position = forms.CharField(label="职务", max_length=50, required=False)
    phone = forms.CharField(label="联系电话", max_length=30, required=False)
    duties = forms.MultipleChoiceField(
        label="联络事项", choices=Duty.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    user_id = forms.TypedChoiceField(label="系统账号", required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, staff: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["user_id"]).choices = [("", "（不关联）")] + [
            (str(member.pk), f"{member.display_name}（{member.role_label}）") for member in staff
        ]

    @property
    def is_blank(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not any(data.get(key) for key in ("name", "position", "phone"))


LiaisonFormSet = forms.formset_factory(LiaisonForm, extra=2, max_num=MAX_LIAISONS_PER_UNIT)


@login_required
def edit(request: HttpRequest, code: str) -> HttpResponse:
    user = _staff(request)
    unit = selectors.directory_unit(user, code)
    if not can_manage(user, unit):
        raise PermissionDenied("只能由本单位维护本单位的联络人。")
    staff = list(User.objects.filter(unit=unit, is_active=True).order_by("username"))
    current = list(unit.liaisons.order_by("order", "pk"))
    status = 200
    if request.method == "POST":
        formset = LiaisonFormSet(request.POST, form_kwargs={"staff": staff})
        if formset.is_valid():
            kept = [(i, form) for i, form in enumerate(formset.forms) if not form.is_blank]
            entries = [
                LiaisonEntry(
                    name=form.cleaned_data["name"],
                    position=form.cleaned_data["position"],
                    phone=form.cleaned_data["phone"],
                    duties=form.cleaned_data["duties"],
                    user_id=form.cleaned_data["user_id"],
                )
                for _i, form in kept
            ]
            try:
                liaisons_replace(actor=user, unit=unit, entries=entries)
            except ServiceError as error:
                for key, message in error.fields.items():
                    _prefix, _, rest = key.partition(".")
                    index, _, name = rest.partition(".")
                    if index.isdigit() and int(index) < len(kept):
                        kept[int(index)][1].add_error(name or None, message)
                    else:
                        messages.error(request, message)
                if not error.fields:
                    messages.error(request, error.message)
            else:
                messages.success(request, f"已更新{unit.name}的联络人。")
                return redirect("liaisons:directory")
        status = 400
    else:
        formset = LiaisonFormSet(
            initial=[
                {
                    "name": liaison.name,
                    "position": liaison.position,
                    "phone": liaison.phone,
                    "duties": liaison.duties,
                    "user_id": liaison.user_id,
                }
                for liaison in current
            ],
            form_kwargs={"staff": staff},
        )
    return render(
        request,
        "liaison/edit.html",
        {"unit": unit, "formset": formset, "current": current},
        status=status,
    )
