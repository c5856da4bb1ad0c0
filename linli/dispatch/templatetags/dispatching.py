"""Template tags the pages of lower layers use to show what dispatch offers,
without importing it (orders sits below dispatch)."""

from __future__ import annotations

from django import template

from linli.dispatch.models import DispatchPolicy
from linli.dispatch.services import policy_for

register = template.Library()


@register.simple_tag
def suggests_for(community_id: int) -> bool:
    """Whether the community wants the engine's ranked suggestions on an order's page
    (a community that dispatches by hand does not)."""
    return policy_for(community_id) != DispatchPolicy.Mode.MANUAL
