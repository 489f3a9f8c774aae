"""FastAPI dependencies shared by CRM's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from marque_crm.unit_of_work import Crm


def get_crm(request: Request) -> Crm:
    crm: Crm = request.app.state.crm
    return crm


CrmDep = Annotated[Crm, Depends(get_crm)]
