"""Certificates: signed PDFs (PAdES) with a QR code to the platform's verification page,
announced to the document registry; for the strongly signed-in holder only."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from pensions_support import Service, problem

from marfiq_shared.documents import verify_pdf

URL = "/v1/pensions/me/certificates"


async def test_an_affiliation_certificate_is_signed_and_announced(service: Service) -> None:
    person = await service.affiliate("AB123456")
    await service.history(person["id"], date(2001, 9, 1), date(2024, 12, 31), "8000")
    citizen = service.citizen("AB123456", acr="substantial")

    response = await service.client.post(URL, json={"type": "affiliation"}, headers=citizen.headers)

    assert response.status_code == 201, response.text
    issued = response.json()
    code = issued["code"]
    assert issued["verification_url"] == f"http://127.0.0.1:8000/v1/documents/{code}"
    assert response.headers["Location"] == issued["url"] == f"{URL}/{code}"
    pdf = (await service.client.get(issued["url"], headers=citizen.headers)).content
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == issued["sha256"]
    check = verify_pdf(pdf, service.app.state.pki.trust_roots())
    assert check.valid, check.problem
    assert check.trusted
    assert check.intact
    assert check.covers_whole_file
    assert "Caisse marocaine des retraites" in (check.signer or "")
    events = await service.events("pensions.certificate.issued")
    assert [event["data"] for event in events] == [
        {
            "code": code,
            "certificate_type": "affiliation",
            "affiliate_cin": "AB123456",
            "sha256": issued["sha256"],
            "issued_at": "2025-11-10T09:00:00Z",
            "issuer_administration_id": None,
            "issuer_name_fr": "Caisse marocaine des retraites",
            "issuer_name_ar": "الصندوق المغربي للتقاعد",
        }
    ]
    listed = (await service.client.get(URL, headers=citizen.headers)).json()
    assert [item["code"] for item in listed["items"]] == [code]


async def test_certificates_need_a_substantial_sign_in_and_a_pension_to_certify(
    service: Service,
) -> None:
    await service.affiliate("AB123456")
    await service.affiliate(
        "CD654321", status="retired", pension_start=date(2024, 1, 1),
        monthly_pension=Decimal("5321.40"),
    )  # fmt: skip

    low = await service.client.post(
        URL, json={"type": "affiliation"}, headers=service.citizen("AB123456", acr="low").headers
    )
    not_retired = await service.client.post(
        URL, json={"type": "pension"}, headers=service.citizen("AB123456").headers
    )
    pension = await service.client.post(
        URL, json={"type": "pension"}, headers=service.citizen("CD654321", acr="high").headers
    )
    unknown_type = await service.client.post(
        URL, json={"type": "salary"}, headers=service.citizen("AB123456").headers
    )

    assert problem(low, 403)["required_acr"] == "substantial"
    assert problem(not_retired, 409)["type"].endswith("/certificate-not-available")
    assert pension.status_code == 201
    assert problem(unknown_type, 422)["errors"][0]["field"] == "type"
    assert await service.scalar("SELECT count(*) FROM pensions.certificates") == 1


async def test_nobody_downloads_another_persons_certificate(service: Service) -> None:
    await service.affiliate("AB123456")
    await service.affiliate("CD654321")
    issued = (
        await service.client.post(
            URL, json={"type": "affiliation"}, headers=service.citizen("AB123456").headers
        )
    ).json()

    other = await service.client.get(issued["url"], headers=service.citizen("CD654321").headers)
    lowercase = await service.client.get(
        issued["url"].lower(), headers=service.citizen("AB123456").headers
    )

    assert problem(other, 404)["type"].endswith("/certificate-not-found")
    assert lowercase.status_code == 200
