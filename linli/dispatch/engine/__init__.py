"""Pure dispatch engine: rank members for a slot and assign a batch of slots.

No Django here.  The Django side turns model rows into :class:`SlotSpec` /
:class:`MemberSpec` (or builds :class:`SlotArrays` / :class:`MemberArrays`
directly), calls :func:`suggest` / :func:`assign`, and stores the result.

Vocabulary
==========
*slot*    one member position on an order; an order needing 3 members has 3
          slots sharing one ``order_id``.
*member*  a person in a service team, with skills, a location, a weekly
          availability, a current load, a cap on concurrent open slots, the
          number of orders taken this week and a recent mean rating.

Data layout (struct of arrays, numpy)
=====================================
* Skills are small integer codes ``0 <= code < 64``.  A member's skill set is
  stored as one ``uint64`` bitmask (bit ``code``); a slot needs one skill.
  64 distinct skills is far more than a community service catalogue needs.
* Time is an *hour-of-week* bitmask of 168 bits, bit 0 = Monday 00:00-01:00
  local wall-clock time, stored as three ``uint64`` words (shape ``(n, 3)``).
  Slots carry a *window* mask, members an *availability* mask; a pair is
  time-feasible when the masks intersect.  Build masks with
  :func:`window_mask` and :func:`weekly_mask`.  Granularity is one hour and an
  hour counts as soon as any part of it overlaps (documented approximation).
* Distances are great-circle (haversine) kilometres on a sphere of radius
  :data:`EARTH_RADIUS_KM`.  Internally points live on the 3-D unit sphere, where
  the chord length ``c`` gives the haversine distance ``2 R asin(c / 2)``
  exactly; k-d trees (``scipy.spatial.cKDTree``) index those 3-D points, so
  nearest by chord is nearest by great-circle distance.

Hard constraints (a pair violating any of them is never proposed)
==================================================================
1. the member has the slot's skill;
2. availability and window overlap;
3. capacity: the member can take ``cap - load`` more slots in a batch
   (members at or over their cap take none);
4. the same member is never twice on one order: pairs listed in ``excluded``
   (member already on that order) are infeasible, and within a batch two slots
   of one order never go to the same member;
5. community: equal communities unless ``Weights.cross_community`` is a number.

Soft cost of a pair (slot s, member m)
======================================
``per_km * km(s, m) + load * load_m + week_load * week_load_m
+ rating * (5 - rating_m) + cross_community * [community differs]``.

Unrated members (``NaN`` rating) count as ``Weights.unrated_rating`` (4.0 by
default: neither rewarded nor punished much).  Ratings are clipped to [1, 5]
so every term is >= 0.  ``load_m`` is the member's load *at the start of the
batch*: giving one member several slots in one batch does not raise the price
of the later ones.  That keeps the batch a pure min-cost transportation problem
(solvable exactly); the load term still spreads work across batches.

Exact batch assignment (:func:`assign`): the model, the proof and the
pipeline (one module per step) are described in :mod:`.batch`.

The inputs and outputs are in :mod:`.model` (hour masks in :mod:`.masks`,
distances in :mod:`.geometry`), the prepared problem in :mod:`.problem`,
:func:`suggest` in :mod:`.suggestions`, and :func:`greedy` and
:func:`dense_exact` in :mod:`.reference`.

Reasons when a slot has no feasible member (first failing filter wins)
======================================================================
``no_skill``         nobody has the skill at all;
``other_community``  people with the skill exist only in other communities
                     (and crossing is forbidden);
``all_at_capacity``  people with the skill in reach exist, all at their cap;
``none_available``   some have capacity, but none is free in the window;
``excluded``         the only possible people are already on this order.
:func:`assign` additionally uses ``batch_capacity``: feasible members exist but
their capacity is taken by other slots of the batch in every maximum
assignment.
"""

from __future__ import annotations

from linli.dispatch.engine.batch import assign
from linli.dispatch.engine.geometry import EARTH_RADIUS_KM, haversine_km
from linli.dispatch.engine.masks import (
    HOURS_PER_WEEK,
    MAX_SKILLS,
    full_mask,
    masks_overlap,
    skills_mask,
    weekly_mask,
    window_mask,
)
from linli.dispatch.engine.model import (
    Assignment,
    Candidate,
    MemberArrays,
    MemberSpec,
    Plan,
    Reason,
    SlotArrays,
    SlotSpec,
    Suggestion,
    Unassigned,
    Weights,
    member_arrays,
    slot_arrays,
)
from linli.dispatch.engine.problem import MemberIndex, pair_cost
from linli.dispatch.engine.reference import dense_exact, greedy
from linli.dispatch.engine.suggestions import suggest

__all__ = [
    "EARTH_RADIUS_KM",
    "HOURS_PER_WEEK",
    "MAX_SKILLS",
    "Reason",
    "Weights",
    "SlotSpec",
    "MemberSpec",
    "SlotArrays",
    "MemberArrays",
    "MemberIndex",
    "Candidate",
    "Suggestion",
    "Assignment",
    "Unassigned",
    "Plan",
    "window_mask",
    "weekly_mask",
    "full_mask",
    "skills_mask",
    "masks_overlap",
    "haversine_km",
    "slot_arrays",
    "member_arrays",
    "pair_cost",
    "suggest",
    "assign",
    "greedy",
    "dense_exact",
]
