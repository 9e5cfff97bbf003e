"""Carrying objectives over into another cycle, or duplicating them as templates."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from headway.api import lookups
from headway.api.auth import access_of, caller
from headway.api.errors import BadRequest
from headway.api.routes.common import WRITE, responses
from headway.okrs.actions import carry_objectives, copy_objective_to_cycle
from headway.okrs.models import KeyResult, Objective

router = Router()


class CarryIn(Schema):
    cycle: str = Field(..., description="Key of the open cycle to put the new objective in.")
    key_results: list[str] = Field(
        ..., min_length=1, description="Keys of the key results to take."
    )
    as_template: bool = Field(
        False,
        description="Duplicate as a template (original starts, any open cycle, its own too) "
        "instead of carrying it over (numeric key results start from their last value).",
    )
    key: str | None = Field(None, description="Key of the new objective (default: derived).")


class CarriedOut(Schema):
    key: str
    cycle: str
    copied_from: str
    copy_kind: str = Field(description="`carried` or `template`.")
    key_results: list[str]


class CarryCycleIn(Schema):
    cycle: str = Field(..., description="Key of the open cycle to carry them into.")
    objectives: dict[str, list[str]] = Field(
        ..., min_length=1, description="Objective key -> keys of the key results to take."
    )


class CarriedManyOut(Schema):
    carried: list[CarriedOut]


def _out(copy: Objective, source: Objective) -> dict[str, object]:
    return {
        "key": copy.key,
        "cycle": copy.cycle.key,
        "copied_from": source.key,
        "copy_kind": copy.copy_kind,
        "key_results": list(copy.key_results.order_by("position").values_list("key", flat=True)),
    }


def _picked(objective: Objective, keys: list[str]) -> list[KeyResult]:
    found = {kr.key: kr for kr in KeyResult.objects.filter(objective=objective, key__in=keys)}
    unknown = [k for k in keys if k not in found]
    if unknown:
        raise BadRequest(
            f"{objective.key!r} has no key result {unknown[0]!r}.",
            fields={"key_results": [f"Unknown: {', '.join(unknown)}"]},
        )
    return [found[k] for k in keys]


@router.post(
    "/objectives/{key}/carry", response=responses({201: CarriedOut}, *WRITE), tags=["objectives"],
    summary="Carry over or duplicate an objective",
)  # fmt: skip
def carry_objective(request: HttpRequest, key: str, payload: CarryIn) -> Status[dict[str, object]]:
    """Members of the team. The new objective links back (`copied_from`); an achieved one can
    only be duplicated as a template, and an objective is carried into a cycle once (422)."""
    objective = lookups.objective(key, access_of(request))
    copy = copy_objective_to_cycle(
        objective=objective,
        cycle=lookups.cycle(payload.cycle),
        key_results=_picked(objective, payload.key_results),
        by=caller(request),
        key=payload.key,
        as_template=payload.as_template,
    )
    return Status(201, _out(copy, objective))


@router.post(
    "/cycles/{key}/carry", response=responses({201: CarriedManyOut}, *WRITE), tags=["cycles"],
    summary="Carry unfinished objectives of a cycle over",
)  # fmt: skip
def carry_cycle(request: HttpRequest, key: str, payload: CarryCycleIn) -> Status[dict[str, object]]:
    """The cycle review's bulk carry-over: all or nothing, every refusal named."""
    source = lookups.cycle(key)
    access = access_of(request)
    picks = []
    for objective_key, kr_keys in payload.objectives.items():
        objective = lookups.objective(objective_key, access)
        if objective.cycle_id != source.pk:
            raise BadRequest(
                f"{objective_key!r} is not an objective of {source.key!r}.",
                fields={"objectives": [f"{objective_key!r} is in another cycle."]},
            )
        picks.append((objective, _picked(objective, kr_keys)))
    copies = carry_objectives(cycle=lookups.cycle(payload.cycle), picks=picks, by=caller(request))
    return Status(
        201, {"carried": [_out(c, o) for c, (o, _krs) in zip(copies, picks, strict=True)]}
    )
