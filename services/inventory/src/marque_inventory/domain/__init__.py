"""The dealer's inventory rulebook: pure rules, no framework, no database, no broker.

- `vin`: what makes a VIN valid (ISO 3779 check digit).
- `catalog`: brands, models, trims, colours, options and the purchase-tax rule (购置税).
- `vehicles`: a vehicle's life from on order to delivered, as a transition table.
- `ageing`: stock age (库龄) and its alert buckets.
- `parts`: parts stock (配件) per store; never negative; the movement ledger.
- `safety_stock`: the minimum number of cars of a model a store keeps (安全库存).
- `transfers`: the cross-store transfer saga (调拨).
- `events`: what each change tells the rest of the group.
"""
