"""FastAPI dependencies shared by finance's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from marque_finance.unit_of_work import Finance


def get_finance(request: Request) -> Finance:
    finance: Finance = request.app.state.finance
    return finance


FinanceDep = Annotated[Finance, Depends(get_finance)]
