"""What each optimiser objective minimises, and how a face names it (from the vocabulary)."""

from __future__ import annotations

from planner import quantities

#: The output each objective minimises (its words come from the vocabulary).
OBJECTIVE_QUANTITY = {
    "cost": "cost_usd",
    "power": "facility_power_mw",
    "energy": "energy_mwh",
    "emissions": "emissions_tco2",
    "gpus": "gpus",
    "time": "longest_days",
}


def objective_words(objective: str) -> str:
    """``"least peak facility power"``: the vocabulary's label of what ``objective``
    minimises (the objective's own name when it minimises no one output)."""
    name = OBJECTIVE_QUANTITY.get(objective)
    if name is None:
        return objective
    label = quantities.label(name, unit=False)
    if label[1:2].islower():  # "Peak facility power" -> "peak ...", "GPUs" stays
        label = label[0].lower() + label[1:]
    return f"least {label}"
