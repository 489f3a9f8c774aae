"""Loading and saving a store's CRM rules; a store without a row runs on the group defaults."""

from __future__ import annotations

from dataclasses import asdict
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marque_crm.domain.store_rules import BusinessHours, StoreRules
from marque_crm.models.stores import StoreRulesRow


def rules_from_json(store_id: str, data: dict[str, Any]) -> StoreRules:
    data = dict(data)
    hours = data.pop("hours", None)
    if hours is not None:
        data["hours"] = BusinessHours(
            opens=time.fromisoformat(hours["opens"]),
            closes=time.fromisoformat(hours["closes"]),
            weekdays=tuple(hours["weekdays"]),
        )
    for key in ("lost_reasons", "invalid_reasons"):
        if key in data:
            data[key] = tuple(data[key])
    return StoreRules(store_id=store_id, **data)


def rules_to_json(rules: StoreRules) -> dict[str, Any]:
    data = asdict(rules)
    data.pop("store_id")
    data["hours"] = {
        "opens": rules.hours.opens.strftime("%H:%M"),
        "closes": rules.hours.closes.strftime("%H:%M"),
        "weekdays": list(rules.hours.weekdays),
    }
    data["lost_reasons"] = list(rules.lost_reasons)
    data["invalid_reasons"] = list(rules.invalid_reasons)
    return data


async def rules_of(session: AsyncSession, store_id: str) -> StoreRules:
    row = await session.get(StoreRulesRow, store_id)
    return rules_from_json(store_id, row.rules) if row is not None else StoreRules(store_id)
