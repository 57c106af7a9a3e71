"""What receipts and answers show, as layouts of the shared documents toolkit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from marfiq_shared.documents import DocumentSpec, FileLine, Line

LOCAL = ZoneInfo("Africa/Casablanca")


def local_time(at: datetime | str) -> str:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M")


def _files(content: dict[str, Any]) -> list[FileLine]:
    return [
        FileLine(item["name"], item["sha256"], item.get("size"))
        for item in content.get("files", [])
    ]


def receipt_spec(content: dict[str, Any], *, code: str, url: str) -> DocumentSpec:
    """The receipt of a registration: number, date, sender, recipient, subject, files."""
    lines = [
        Line("N° d'enregistrement", "رقم التسجيل", content["registration_number"]),
        Line("Date de dépôt", "تاريخ الإيداع", local_time(content["registered_at"])),
        Line("Expéditeur", "المرسل", content["sender"]),
        Line("Destinataire", "المرسل إليه", content["recipient_fr"]),
        Line("Objet", "الموضوع", content["subject"]),
    ]
    if content.get("outgoing_number"):
        lines.insert(1, Line("N° de départ", "رقم الإرسال", content["outgoing_number"]))
    if content.get("forwarded_from"):
        lines.append(Line("Transmis par", "محال من طرف", content["forwarded_from"]))
    lines.append(Line("Pièces jointes", "المرفقات", str(len(content.get("files", [])))))
    return DocumentSpec(
        issuer_fr=content["recipient_fr"],
        issuer_ar=content["recipient_ar"],
        title_fr="Accusé de réception",
        title_ar="وصل الإيداع",
        verification_code=code,
        verification_url=url,
        lines=lines,
        files=_files(content),
        keywords=("receipt", content["registration_number"]),
    )


def answer_spec(content: dict[str, Any], *, code: str, url: str) -> DocumentSpec:
    """An administration's answer: reference, addressee, its text, and its attachments."""
    lines = [
        Line("Référence", "المرجع", content["registration_number"]),
        Line("Votre courrier du", "مراسلتكم بتاريخ", local_time(content["registered_at"])),
        Line("Destinataire", "المرسل إليه", content["sender"]),
        Line("Objet", "الموضوع", f"Réponse : {content['subject']}"),
        Line("Date", "التاريخ", local_time(content["answered_at"])),
    ]
    return DocumentSpec(
        issuer_fr=content["issuer_fr"],
        issuer_ar=content["issuer_ar"],
        title_fr="Réponse à votre courrier",
        title_ar="جواب على مراسلتكم",
        verification_code=code,
        verification_url=url,
        lines=lines,
        text=content["text"],
        text_heading_fr="Réponse",
        text_heading_ar="الجواب",
        files=_files(content),
        files_heading_fr="Pièces jointes à la réponse",
        files_heading_ar="مرفقات الجواب",
        signature_fr=f"Signé électroniquement au nom de : {content['issuer_fr']}.",
        keywords=("answer", content["registration_number"]),
    )
