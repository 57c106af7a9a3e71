"""The civil pensions regime (CMR), before and after the 2016 parametric reform, as data.

Texts: law 011-71 of 30 December 1971 instituting the civil pensions regime and law 012-71 on
the age limit, as amended by laws 71-14 and 72-14 (promulgated August 2016). Sources read:

- [A] affaires.ma, "Pensions civiles : tout sur les conditions de retraite des fonctionnaires"
  (summary of law 71-14 as published in the Bulletin officiel, article 12 as amended).
- [P] Note de présentation du projet de loi de finances 2018, quoted by La Quotidienne,
  "Retraite : le coût de la réforme paramétrique estimé à 35,4 Mds de DH".
- [F] Finances News (via maghress), "la réforme paramétrique ... entre en 2018 dans sa deuxième
  année d'exécution" (late 2017).
- [M] Maghreb Emergent, "A partir du premier janvier 2017, les Marocains vont partir en retraite
  à 63 ans" (age limit by year of birth, law 72-14).
- [E] L'Economiste, édition 4953 ("réaménagement paramétrique appliqué depuis septembre 2016").
- [B] Badil Press, Jilali Chafik on the CMR (minimum pension raised from 600 to 1,000 DH in 2011).
- [G] Government note "la réforme des régimes des pensions civiles : approche préliminaire"
  (L'Opinion via maghress): 2.5% a year of the last salary, up to 100%.

The catalogue starts in 2011, the earliest parameter set researched; earlier periods raise
RegimeNotInForce rather than being computed with rules that were not checked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from marfiq_pensions.regimes.model import (
    AnnuityTranche,
    CivilRules,
    ContributionRates,
    PensionAge,
    Regime,
    RegimeCode,
)

REFORM_DATE = date(2017, 1, 1)  # [A] art. 12: the 2% rate applies to service from 1 January 2017

CONTRIBUTIONS = (
    # [P] "14% au lieu de 10%": 10% employee withholding + 10% state contribution before the
    # reform (no wage ceiling in this regime).
    ContributionRates(date(2011, 1, 1), employee=Decimal("0.10"), employer=Decimal("0.10")),
    # [P] +4 points each for the affiliate and the employer, "étalée sur 4 ans"; [E] the first
    # point applied from September 2016; [F] 12% in 2017, 13% from 1 January 2018, 14% from
    # 1 January 2019.
    ContributionRates(date(2016, 9, 1), employee=Decimal("0.11"), employer=Decimal("0.11")),
    ContributionRates(date(2017, 1, 1), employee=Decimal("0.12"), employer=Decimal("0.12")),
    ContributionRates(date(2018, 1, 1), employee=Decimal("0.13"), employer=Decimal("0.13")),
    ContributionRates(date(2019, 1, 1), employee=Decimal("0.14"), employer=Decimal("0.14")),
)

BEFORE_REFORM = CivilRules(
    version="civil-2011",
    # [B] the 2011 social dialogue raised the minimum pension to 1,000 DH (month not found: the
    # set is dated from the start of that year).
    effective_from=date(2011, 1, 1),
    # Law 012-71 before law 72-14: age limit 60 for everyone.
    pension_age=(PensionAge(born_from=0, months=60 * 12),),
    # [G] pension = years of service x 2.5% of the last salary.
    tranches=(AnnuityTranche(until=None, annuity_rate=Decimal("0.025"), reference_months=1),),
    # [G] "un niveau qui atteint parfois 100 pc": 40 annuities x 2.5% at most.
    max_rate=Decimal("1.00"),
    minimum_pension=Decimal("1000"),  # [B]
    minimum_pension_service_years=0,  # no service condition found for the 2011 minimum
)


def _reformed(reference_months: int) -> tuple[AnnuityTranche, ...]:
    # [A] art. 12 as amended: years of service before 1 January 2017 x 2.5%, and from that day
    # x 2%, both "du salaire de référence fixé à l'article 12 ter" -- one reference salary for
    # the whole career. Rights acquired before the reform keep their 2.5% rate; their reference
    # is the average too. Should the fund read art. 12 ter as keeping the last salary for those
    # rights, set reference_months=1 on the first tranche: the rule is data.
    return (
        AnnuityTranche(REFORM_DATE, Decimal("0.025"), reference_months),
        AnnuityTranche(None, Decimal("0.02"), reference_months),
    )


REFORM_2017 = CivilRules(
    version="civil-2017",
    effective_from=REFORM_DATE,
    # [M] law 72-14: +6 months a year, by year of birth: 1957 -> 60 y 6 m, 1958 -> 61 y,
    # 1959 -> 61 y 6 m, 1960 -> 62 y, 1961 -> 62 y 6 m, 1962 and later -> 63 y. [P] "à raison
    # de 6 mois par an à partir du 1er janvier 2017".
    pension_age=(
        PensionAge(born_from=0, months=60 * 12),
        PensionAge(born_from=1957, months=60 * 12 + 6),
        PensionAge(born_from=1958, months=61 * 12),
        PensionAge(born_from=1959, months=61 * 12 + 6),
        PensionAge(born_from=1960, months=62 * 12),
        PensionAge(born_from=1961, months=62 * 12 + 6),
        PensionAge(born_from=1962, months=63 * 12),
    ),
    # [F] departures in 2017: average of the last 24 months; 2018: 48; 96 by 2020. [P] the
    # reference widens to 96 months "de manière progressive sur une durée de 4 ans".
    tranches=_reformed(24),
    max_rate=Decimal("1.00"),  # the reform did not change the 100% ceiling
    # [P] minimum raised "sur une période de 3 années" from 1,000 to 1,500 DH for 10 years of
    # service at least; [F] 1,500 DH from 1 January 2018. The 2017 step was not found: the
    # 2017 set keeps 1,000 DH (pensions of 2017 are not simulated by this service).
    minimum_pension=Decimal("1000"),
    minimum_pension_service_years=10,
)

REFORM_2018 = replace(
    REFORM_2017,
    version="civil-2018",
    effective_from=date(2018, 1, 1),
    tranches=_reformed(48),  # [F]
    minimum_pension=Decimal("1500"),  # [F], [P]
)
REFORM_2019 = replace(
    REFORM_2018, version="civil-2019", effective_from=date(2019, 1, 1), tranches=_reformed(72)
)  # [F], [P]: the third of four yearly steps from 24 to 96 months
REFORM_2020 = replace(
    REFORM_2019, version="civil-2020", effective_from=date(2020, 1, 1), tranches=_reformed(96)
)  # [F] "D'ici 2020 ... les salaires des 96 derniers mois"

CIVIL = Regime(
    code=RegimeCode.CIVIL,
    name="Régime des pensions civiles (CMR)",
    contributions=CONTRIBUTIONS,
    rules=(BEFORE_REFORM, REFORM_2017, REFORM_2018, REFORM_2019, REFORM_2020),
)
