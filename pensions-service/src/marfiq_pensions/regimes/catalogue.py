"""The regimes the fund administers, looked up by code."""

from __future__ import annotations

from dataclasses import dataclass

from marfiq_pensions.regimes.civil import CIVIL
from marfiq_pensions.regimes.general import GENERAL
from marfiq_pensions.regimes.model import CivilRules, GeneralRules, Regime, RegimeCode


@dataclass(frozen=True, slots=True)
class RegimeCatalogue:
    """One parameter history per regime; tests and simulations may pass their own."""

    civil: Regime[CivilRules]
    general: Regime[GeneralRules]

    def regime(self, code: RegimeCode) -> Regime[CivilRules] | Regime[GeneralRules]:
        """The regime of a career."""
        return self.civil if code is RegimeCode.CIVIL else self.general


CATALOGUE = RegimeCatalogue(civil=CIVIL, general=GENERAL)
