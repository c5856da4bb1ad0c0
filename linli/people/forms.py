from __future__ import annotations

from typing import Any

from django import forms

from linli.core.models import User
from linli.core.roles import Role
from linli.network.models import Center
from linli.people.models import CareTag, Resident
from linli.people.services import REGISTER_FIELDS


class ResidentForm(forms.ModelForm):
    """Registering a resident on the page. Fields, limits and validators are the
    model's (a ModelForm runs ``full_clean``), so the page refuses exactly what
    the admin, the API and the importer refuse."""

    class Meta:
        model = Resident
        fields = REGISTER_FIELDS
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "care_tags": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        care_tags = self.fields["care_tags"]
        assert isinstance(care_tags, forms.ModelMultipleChoiceField)
        care_tags.queryset = CareTag.objects.all()
        if user.role == Role.CITY:
            community = self.fields["community"]
            assert isinstance(community, forms.ModelChoiceField)
            community.queryset = Center.objects.filter(kind=Center.Kind.COMMUNITY)
        else:
            # A dispatcher registers in their own community: not a choice.
            del self.fields["community"]
            self.instance.community = user.community
