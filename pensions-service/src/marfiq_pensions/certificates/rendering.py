"""What certificates say, as layouts of the shared documents toolkit. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from marfiq_pensions.certificates.models import CertificateType
from marfiq_pensions.dependencies import LOCAL
from marfiq_shared.documents import DocumentSpec, Line

REGIME_NAMES = {
    "civil": ("Régime des pensions civiles", "نظام المعاشات المدنية"),
    "general": ("Régime général de sécurité sociale", "النظام العام للضمان الاجتماعي"),
}
STATUS_NAMES = {
    "active": ("En activité", "في حالة نشاط"),
    "retired": ("Retraité(e)", "متقاعد(ة)"),
    "deceased": ("Décédé(e)", "متوفى"),
}


@dataclass(frozen=True, slots=True)
class Holder:
    """What a certificate states about its holder."""

    full_name: str
    cin: str
    affiliation_number: str
    birth_date: date | None
    regime: str
    status: str
    affiliated_since: date | None
    months_of_service: int
    pension_start: date | None
    monthly_pension: Decimal | None


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _amount(value: Decimal) -> str:
    return f"{value:,.2f} DH".replace(",", " ")


def certificate_spec(
    kind: CertificateType,
    holder: Holder,
    *,
    issuer_fr: str,
    issuer_ar: str,
    code: str,
    url: str,
    issued_at: datetime,
) -> DocumentSpec:
    """The layout of an affiliation or a pension certificate."""
    regime_fr, regime_ar = REGIME_NAMES.get(holder.regime, (holder.regime, holder.regime))
    status_fr, status_ar = STATUS_NAMES.get(holder.status, (holder.status, holder.status))
    lines: list[Line] = [
        Line("Nom et prénom", "الاسم الكامل", holder.full_name),
        Line("N° de CIN", "رقم البطاقة الوطنية", holder.cin),
        Line("N° d'affiliation", "رقم الانخراط", holder.affiliation_number),
        Line("Date de naissance", "تاريخ الازدياد", _day(holder.birth_date)),
        Line("Régime", "النظام", f"{regime_fr} / {regime_ar}"),
    ]
    if kind is CertificateType.AFFILIATION:
        title = ("Attestation d'affiliation", "شهادة الانخراط")
        text = (
            f"{issuer_fr} atteste que la personne désignée ci-dessus est affiliée au "
            f"{regime_fr.lower()}. Situation : {status_fr.lower()}."
        )
        lines += [
            Line("Situation", "الوضعية", f"{status_fr} / {status_ar}"),
            Line("Affilié(e) depuis", "منخرط(ة) منذ", _day(holder.affiliated_since)),
            Line("Mois de service comptés", "أشهر الخدمة المحتسبة", str(holder.months_of_service)),
        ]
    else:
        assert holder.pension_start is not None
        assert holder.monthly_pension is not None
        title = ("Attestation de pension", "شهادة المعاش")
        text = (
            f"{issuer_fr} atteste que la personne désignée ci-dessus est titulaire d'une "
            f"pension servie depuis le {_day(holder.pension_start)}, d'un montant mensuel brut "
            f"de {_amount(holder.monthly_pension)}."
        )
        lines += [
            Line("Pension servie depuis", "تاريخ بداية المعاش", _day(holder.pension_start)),
            Line("Montant mensuel brut", "المبلغ الشهري الإجمالي", _amount(holder.monthly_pension)),
        ]
    lines.append(
        Line("Délivrée le", "سلمت بتاريخ", issued_at.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M"))
    )
    keywords: Sequence[str] = ("certificate", kind.value, holder.affiliation_number)
    return DocumentSpec(
        issuer_fr=issuer_fr,
        issuer_ar=issuer_ar,
        title_fr=title[0],
        title_ar=title[1],
        verification_code=code,
        verification_url=url,
        lines=lines,
        text=text,
        text_heading_fr="Attestation",
        text_heading_ar="شهادة",
        signature_fr=f"Signé électroniquement au nom de : {issuer_fr}.",
        keywords=tuple(keywords),
    )
