"""Complaints intake (投诉受理): routing, the time to respond, and the customer-facing status.

CRM takes a complaint in, routes it to the responsible department by its category, promises a
first response within an SLA that depends on severity (counted in the store's business hours),
and keeps the status the customer is told. The repair side (rework orders, 三包 warranty claims)
belongs to aftersales, which learns of the complaint from `crm.complaint.registered`
(see docs/decisions/0023-complaints-split-crm-aftersales.md).

Status: received → acknowledged → in_progress → resolved → closed. A complaint may be resolved
straight from received or acknowledged (settled on the first call); a resolved complaint the
customer does not accept goes back to in_progress; closed is final. Resolving needs a resolution
(what was done). The first move out of `received` is the response the SLA measures; a complaint
still `received` after `respond_by` is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass

from marque_kit.errors import Conflict, InvalidInput

DEPARTMENTS = ("sales", "service", "parts", "finance", "other")
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("received", "acknowledged", "in_progress", "resolved", "closed")

# Category → the department that answers for it (销售 / 售后服务 / 配件 / 财务 / 其他).
CATEGORY_DEPARTMENT: dict[str, str] = {
    "sales_attitude": "sales",  # 销售服务态度
    "sales_promise": "sales",  # 销售承诺未兑现
    "pricing": "sales",  # 价格争议
    "delivery": "sales",  # 交车延迟/交车问题
    "vehicle_quality": "service",  # 新车质量问题
    "repair_quality": "service",  # 维修质量 / 返修
    "repair_delay": "service",  # 维修延误
    "service_attitude": "service",  # 售后服务态度
    "warranty": "service",  # 三包 / 保修
    "parts_availability": "parts",  # 配件缺货
    "parts_quality": "parts",  # 配件质量
    "billing": "finance",  # 收费 / 发票
    "financing": "finance",  # 贷款 / 金融
    "insurance": "finance",  # 保险
    "other": "other",
}
CATEGORIES = tuple(CATEGORY_DEPARTMENT)

# Business minutes (store hours) within which the customer must hear back, by severity.
RESPONSE_SLA_MINUTES: dict[str, int] = {
    "critical": 60,  # safety, media, 12315 escalation: within the hour
    "high": 4 * 60,
    "medium": 9 * 60,  # one business day at the default 09:00-18:00
    "low": 3 * 9 * 60,
}

_MOVES: dict[str, tuple[str, ...]] = {
    "received": ("acknowledged", "in_progress", "resolved"),
    "acknowledged": ("in_progress", "resolved"),
    "in_progress": ("resolved",),
    "resolved": ("closed", "in_progress"),
    "closed": (),
}


@dataclass(frozen=True)
class Routing:
    department: str
    response_minutes: int


def route(category: str, severity: str, department: str | None = None) -> Routing:
    """The department (the category's, unless one is named) and the minutes to respond."""
    errors = []
    if category not in CATEGORY_DEPARTMENT:
        errors.append({"field": "category", "rule": "enum", "allowed": list(CATEGORIES)})
    if severity not in RESPONSE_SLA_MINUTES:
        errors.append({"field": "severity", "rule": "enum", "allowed": list(SEVERITIES)})
    if department is not None and department not in DEPARTMENTS:
        errors.append({"field": "department", "rule": "enum", "allowed": list(DEPARTMENTS)})
    if errors:
        raise InvalidInput(
            "A complaint needs a known category ("
            + ", ".join(CATEGORIES)
            + "), a severity (low, medium, high, critical) and, if named, a department ("
            + ", ".join(DEPARTMENTS)
            + ").",
            errors=errors,
        )
    return Routing(department or CATEGORY_DEPARTMENT[category], RESPONSE_SLA_MINUTES[severity])


def check_move(current: str, wanted: str, resolution: str) -> None:
    """Refuse impossible moves (409) and resolving without saying how (422)."""
    if wanted not in STATUSES:
        raise InvalidInput(
            f"Complaint status {wanted!r} is not one of {', '.join(STATUSES)}.",
            errors=[{"field": "status", "rule": "enum"}],
        )
    if wanted == current:
        return
    if wanted not in _MOVES[current]:
        allowed = ", ".join(_MOVES[current]) or "nothing (it is final)"
        raise Conflict(
            f"A {current} complaint cannot become {wanted}; from {current} it can go to {allowed}."
        )
    if wanted == "resolved" and not resolution.strip():
        raise InvalidInput(
            "Say how the complaint was resolved (resolution) before marking it resolved.",
            errors=[{"field": "resolution", "rule": "required"}],
        )


def is_response(current: str, wanted: str) -> bool:
    """Does this move answer the customer for the first time (what the SLA measures)?"""
    return current == "received" and wanted != "received"
