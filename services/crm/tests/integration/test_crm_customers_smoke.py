"""The one door for customers: two channels racing with the same mobile make one customer."""

from __future__ import annotations

import asyncio

import pytest

from marque_crm.customers_service import NewCustomer, find_or_create
from marque_crm.unit_of_work import Crm
from marque_kit.errors import InvalidInput


async def test_concurrent_creates_with_one_mobile_make_one_customer(crm: Crm) -> None:
    async def create(mobile: str, source: str) -> tuple[str, bool]:
        async with crm.uow() as uow:
            found = await find_or_create(
                uow.session, crm, NewCustomer("SMK1", "李雷", mobile, source=source)
            )
            await uow.commit()
            return found.customer.id, found.created

    results = await asyncio.gather(
        *(
            create(m, s)
            for m, s in [("138 0013 8001", "walk_in"), ("+86-13800138001", "autohome")] * 5
        )
    )
    assert len({cid for cid, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_a_malformed_mobile_says_why(crm: Crm) -> None:
    async with crm.uow() as uow:
        with pytest.raises(InvalidInput, match="not a Chinese mobile"):
            await find_or_create(uow.session, crm, NewCustomer("SMK1", "韩梅梅", "12345"))
