"""FastAPI dependencies shared by inventory's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from marque_inventory.unit_of_work import Inventory


def get_inventory(request: Request) -> Inventory:
    inventory: Inventory = request.app.state.inventory
    return inventory


InventoryDep = Annotated[Inventory, Depends(get_inventory)]
