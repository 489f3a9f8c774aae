"""The model catalog (brand, model, trim, colour, option, with MSRP) and the purchase tax (购置税).

Catalog prices are what a customer pays, VAT (13%) included, in fen. The catalog is group-level
reference data: it carries no store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from marque_inventory.domain.checks import require_text
from marque_inventory.domain.money import require_fen, round_half_up

VAT_RATE = Fraction(13, 100)
PURCHASE_TAX_RATE = Fraction(10, 100)


class EnergyType(StrEnum):
    ICE = "ice"  # petrol or diesel engine
    HEV = "hev"  # hybrid that cannot be plugged in: taxed like ICE
    PHEV = "phev"  # plug-in hybrid, range extenders included: a new-energy vehicle (NEV)
    BEV = "bev"  # battery electric: a new-energy vehicle (NEV)

    @property
    def is_new_energy(self) -> bool:
        return self in (EnergyType.PHEV, EnergyType.BEV)


@dataclass(frozen=True)
class NevPurchaseTaxPolicy:
    """How much of the purchase tax a new-energy vehicle is spared (the state changes this often).

    `relief_share` of the standard tax is forgiven, at most `relief_cap_fen` per vehicle.
    """

    name: str
    relief_share: Fraction
    relief_cap_fen: int | None

    def __post_init__(self) -> None:
        if not 0 <= self.relief_share <= 1:
            raise ValueError("relief_share must be between 0 and 1")
        if self.relief_cap_fen is not None:
            require_fen(self.relief_cap_fen, "relief_cap_fen")

    def relief_fen(self, standard_tax_fen: int) -> int:
        relief = round_half_up(standard_tax_fen * self.relief_share)
        return relief if self.relief_cap_fen is None else min(relief, self.relief_cap_fen)


NEV_EXEMPT_2024_2025 = NevPurchaseTaxPolicy(
    name="NEV exempt, at most 30,000 CNY relief (2024-2025)",
    relief_share=Fraction(1),
    relief_cap_fen=3_000_000,
)
NEV_HALVED_2026_2027 = NevPurchaseTaxPolicy(
    name="NEV halved to 5%, at most 15,000 CNY relief (2026-2027)",
    relief_share=Fraction(1, 2),
    relief_cap_fen=1_500_000,
)
NEV_NO_RELIEF = NevPurchaseTaxPolicy(
    name="NEV taxed like any car", relief_share=Fraction(0), relief_cap_fen=None
)
DEFAULT_NEV_POLICY = NEV_HALVED_2026_2027


@dataclass(frozen=True)
class PurchaseTax:
    """The purchase tax of one vehicle, shown line by line as the tax office computes it."""

    price_incl_vat_fen: int
    taxable_price_fen: int  # the price without VAT: price ÷ 1.13
    standard_tax_fen: int  # 10% of the taxable price
    relief_fen: int  # what the NEV policy forgives
    tax_fen: int  # what the buyer pays


def purchase_tax(
    price_incl_vat_fen: int,
    energy_type: EnergyType,
    nev_policy: NevPurchaseTaxPolicy = DEFAULT_NEV_POLICY,
) -> PurchaseTax:
    """购置税: VAT-inclusive price ÷ 1.13 × 10%, each step rounded half up to the fen; NEVs get
    the relief of `nev_policy`."""
    price = require_fen(price_incl_vat_fen, "price_incl_vat_fen")
    taxable = round_half_up(Fraction(price) / (1 + VAT_RATE))
    standard = round_half_up(taxable * PURCHASE_TAX_RATE)
    relief = nev_policy.relief_fen(standard) if energy_type.is_new_energy else 0
    return PurchaseTax(
        price_incl_vat_fen=price,
        taxable_price_fen=taxable,
        standard_tax_fen=standard,
        relief_fen=relief,
        tax_fen=standard - relief,
    )


@dataclass(frozen=True)
class Brand:
    code: str
    name: str

    def __post_init__(self) -> None:
        require_text(self.code, "brand code")


@dataclass(frozen=True)
class Model:
    code: str
    brand_code: str
    name: str

    def __post_init__(self) -> None:
        require_text(self.code, "model code")
        require_text(self.brand_code, "brand code")


@dataclass(frozen=True)
class Trim:
    """One version of a model (配置) with its MSRP (指导价) and what the dealer pays the OEM."""

    code: str
    model_code: str
    name: str
    msrp_fen: int
    dealer_cost_fen: int
    energy_type: EnergyType

    def __post_init__(self) -> None:
        require_text(self.code, "trim code")
        require_text(self.model_code, "model code")
        require_fen(self.msrp_fen, "msrp_fen")
        require_fen(self.dealer_cost_fen, "dealer_cost_fen")

    @property
    def list_margin_fen(self) -> int:
        """Gross margin at full MSRP, before any discount."""
        return self.msrp_fen - self.dealer_cost_fen

    def purchase_tax_at_msrp(
        self, nev_policy: NevPurchaseTaxPolicy = DEFAULT_NEV_POLICY
    ) -> PurchaseTax:
        return purchase_tax(self.msrp_fen, self.energy_type, nev_policy)


@dataclass(frozen=True)
class Colour:
    code: str
    name: str
    surcharge_fen: int = 0  # some paints cost extra

    def __post_init__(self) -> None:
        require_text(self.code, "colour code")
        require_fen(self.surcharge_fen, "surcharge_fen")


@dataclass(frozen=True)
class Option:
    code: str
    name: str
    price_fen: int

    def __post_init__(self) -> None:
        require_text(self.code, "option code")
        require_fen(self.price_fen, "price_fen")
