"""The group's model catalog (车型库): brands, models, trims with MSRP and purchase tax, colours,
options, and the group's stores. Group-level reference data: every store reads the same rows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from marque_inventory.api.deps import InventoryDep
from marque_inventory.domain import catalog as domain
from marque_inventory.models import (
    Brand,
    Colour,
    Store,
    Trim,
    VehicleModel,
    VehicleOption,
)
from marque_kit.auth import Principal
from marque_kit.errors import AlreadyExists, Forbidden, InvalidInput
from marque_kit.http import CurrentPrincipal, IdempotencyDep, Page, PageQuery, paginate, permission

# Any select, whatever its columns (SQLAlchemy 2.1 types a select by its column tuple).
AnySelect = Select[*tuple[Any, ...]]

router = APIRouter(prefix="/api/v1/inventory/catalog", tags=["catalog"])

READ = "inventory.catalog:read"
WRITE = "inventory.catalog:write"


def require_catalog_writer(principal: Principal) -> None:
    """The catalog is the whole group's: only HQ edits it, even a store manager holding '*'."""
    principal.require(WRITE)
    if not principal.is_hq:
        raise Forbidden("Only group HQ edits the model catalog; ask HQ to add or change a trim.")


class BrandOut(BaseModel):
    code: str
    name: str
    country: str
    wmi: str


class ModelOut(BaseModel):
    code: str
    brand_code: str
    name: str
    body: str


class PurchaseTaxOut(BaseModel):
    """购置税 at MSRP, line by line, under the NEV policy in force."""

    price_incl_vat_fen: int
    taxable_price_fen: int
    standard_tax_fen: int
    relief_fen: int
    tax_fen: int
    nev_policy: str | None


class TrimOut(BaseModel):
    code: str
    model_code: str
    brand_code: str
    name: str
    energy_type: domain.EnergyType
    msrp_fen: int
    dealer_cost_fen: int
    list_margin_fen: int
    purchase_tax: PurchaseTaxOut

    @classmethod
    def of(cls, row: Trim, brand_code: str) -> TrimOut:
        trim = to_domain_trim(row)
        tax = trim.purchase_tax_at_msrp()
        return cls(
            code=trim.code,
            model_code=trim.model_code,
            brand_code=brand_code,
            name=trim.name,
            energy_type=trim.energy_type,
            msrp_fen=trim.msrp_fen,
            dealer_cost_fen=trim.dealer_cost_fen,
            list_margin_fen=trim.list_margin_fen,
            purchase_tax=PurchaseTaxOut(
                price_incl_vat_fen=tax.price_incl_vat_fen,
                taxable_price_fen=tax.taxable_price_fen,
                standard_tax_fen=tax.standard_tax_fen,
                relief_fen=tax.relief_fen,
                tax_fen=tax.tax_fen,
                nev_policy=domain.DEFAULT_NEV_POLICY.name
                if trim.energy_type.is_new_energy
                else None,
            ),
        )


def to_domain_trim(row: Trim) -> domain.Trim:
    # Rows loaded by older tools carry "BEV"; the domain spells energy types in lower case.
    return domain.Trim(
        code=row.code,
        model_code=row.model_code,
        name=row.name,
        msrp_fen=row.msrp_fen,
        dealer_cost_fen=row.dealer_cost_fen,
        energy_type=domain.EnergyType(row.energy_type.lower()),
    )


class TrimIn(BaseModel):
    code: str = Field(min_length=1, max_length=40, examples=["TSL-MY-LRP"])
    model_code: str = Field(min_length=1, max_length=40, examples=["TSL-MY"])
    name: str = Field(min_length=1, max_length=200, examples=["长续航焕新版 Long Range"])
    energy_type: domain.EnergyType = Field(examples=["bev"])
    msrp_fen: int = Field(ge=0, description="VAT-inclusive MSRP (指导价) in fen")
    dealer_cost_fen: int = Field(ge=0, description="What the store pays the OEM, in fen")


class ColourOut(BaseModel):
    code: str
    name: str
    hex: str


class OptionOut(BaseModel):
    code: str
    name: str
    price_fen: int


class StoreOut(BaseModel):
    id: str
    name: str
    city: str
    timezone: str


def _rows_as(model: type[BaseModel], rows: list[Any]) -> list[Any]:
    return [model.model_validate(r, from_attributes=True) for r in rows]


@router.get("/brands", response_model=Page[BrandOut], dependencies=[permission(READ)])
async def list_brands(
    principal: CurrentPrincipal, inventory: InventoryDep, page: PageQuery
) -> Page[BrandOut]:
    principal.require(READ)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(session, select(Brand), page, order=(col(Brand.code),))
    return Page(items=_rows_as(BrandOut, rows), next_cursor=cursor)


@router.get("/models", response_model=Page[ModelOut], dependencies=[permission(READ)])
async def list_models(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    brand: str | None = None,
) -> Page[ModelOut]:
    principal.require(READ)
    stmt = select(VehicleModel)
    if brand:
        stmt = stmt.where(col(VehicleModel.brand_code) == brand)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(session, stmt, page, order=(col(VehicleModel.code),))
    return Page(items=_rows_as(ModelOut, rows), next_cursor=cursor)


@router.get("/trims", response_model=Page[TrimOut], dependencies=[permission(READ)])
async def list_trims(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    model: str | None = None,
    brand: str | None = None,
    energy_type: domain.EnergyType | None = None,
) -> Page[TrimOut]:
    """Trims with MSRP, dealer cost and the purchase tax a buyer pays at MSRP."""
    principal.require(READ)
    stmt: AnySelect = select(Trim, col(VehicleModel.brand_code)).join(
        VehicleModel,
        col(VehicleModel.code) == col(Trim.model_code),
    )
    if model:
        stmt = stmt.where(col(Trim.model_code) == model)
    if brand:
        stmt = stmt.where(col(VehicleModel.brand_code) == brand)
    if energy_type:
        stmt = stmt.where(func.lower(col(Trim.energy_type)) == energy_type.value)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(
            session, stmt, page, order=(col(Trim.code),), key=lambda r: [r[0].code]
        )
    return Page(
        items=[TrimOut.of(trim, brand_code) for trim, brand_code in rows], next_cursor=cursor
    )


@router.post("/trims", status_code=201, response_model=TrimOut, dependencies=[permission(WRITE)])
async def create_trim(
    body: TrimIn, principal: CurrentPrincipal, inventory: InventoryDep, idem: IdempotencyDep
) -> Response:
    """Add a trim to the catalog (HQ only); 409 when the code exists, 422 for an unknown model."""
    require_catalog_writer(principal)
    trim = domain.Trim(
        code=body.code.strip(),
        model_code=body.model_code.strip(),
        name=body.name.strip(),
        msrp_fen=body.msrp_fen,
        dealer_cost_fen=body.dealer_cost_fen,
        energy_type=body.energy_type,
    )
    async with inventory.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        model = await uow.session.get(VehicleModel, trim.model_code)
        if model is None:
            raise InvalidInput(
                f"Model {trim.model_code!r} is not in the catalog; add the model first.",
                errors=[{"field": "model_code", "rule": "known_model"}],
            )
        inserted = await uow.session.execute(
            insert(Trim)
            .values(
                code=trim.code,
                model_code=trim.model_code,
                name=trim.name,
                energy_type=trim.energy_type.value,
                msrp_fen=trim.msrp_fen,
                dealer_cost_fen=trim.dealer_cost_fen,
            )
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(col(Trim.code))
        )
        if inserted.scalar_one_or_none() is None:
            raise AlreadyExists(
                f"Trim {trim.code} is already in the catalog.",
                errors=[{"field": "code", "rule": "unique"}],
            )
        row = Trim(
            code=trim.code,
            model_code=trim.model_code,
            name=trim.name,
            energy_type=trim.energy_type.value,
            msrp_fen=trim.msrp_fen,
            dealer_cost_fen=trim.dealer_cost_fen,
        )
        response = await idem.complete(uow.session, 201, TrimOut.of(row, model.brand_code))
        await uow.commit()
    inventory.catalog.forget(trim.code)
    return response


@router.get("/colours", response_model=Page[ColourOut], dependencies=[permission(READ)])
async def list_colours(
    principal: CurrentPrincipal, inventory: InventoryDep, page: PageQuery
) -> Page[ColourOut]:
    principal.require(READ)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(session, select(Colour), page, order=(col(Colour.code),))
    return Page(items=_rows_as(ColourOut, rows), next_cursor=cursor)


@router.get("/options", response_model=Page[OptionOut], dependencies=[permission(READ)])
async def list_options(
    principal: CurrentPrincipal, inventory: InventoryDep, page: PageQuery
) -> Page[OptionOut]:
    principal.require(READ)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(
            session, select(VehicleOption), page, order=(col(VehicleOption.code),)
        )
    return Page(items=_rows_as(OptionOut, rows), next_cursor=cursor)


@router.get("/stores", response_model=Page[StoreOut], dependencies=[permission(READ)])
async def list_stores(
    principal: CurrentPrincipal, inventory: InventoryDep, page: PageQuery
) -> Page[StoreOut]:
    """Every store of the group: names and cities are not secret between stores."""
    principal.require(READ)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(session, select(Store), page, order=(col(Store.id),))
    return Page(items=_rows_as(StoreOut, rows), next_cursor=cursor)
