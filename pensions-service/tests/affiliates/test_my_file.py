"""The affiliate changes what they may in their file: postal address, and (strongly signed
in) the phone the fund vouches for."""

from __future__ import annotations

from pensions_support import Service, problem


async def test_the_postal_address_is_changed_by_its_owner(service: Service) -> None:
    await service.affiliate("AB123456")
    citizen = service.citizen("AB123456", acr="low")
    address = {"line1": "12, rue Ibn Sina", "postal_code": "10090", "city": "Rabat"}

    response = await service.client.patch(
        "/v1/pensions/me", json={"postal_address": address}, headers=citizen.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["postal_address"] == address | {"line2": None}
    assert response.json()["version"] == 2
    again = await service.client.get("/v1/pensions/me", headers=citizen.headers)
    assert again.json()["postal_address"]["city"] == "Rabat"


async def test_the_phone_needs_a_substantial_sign_in_and_is_published(service: Service) -> None:
    await service.affiliate("AB123456", phone="+212600000001")

    low = await service.client.patch(
        "/v1/pensions/me",
        json={"phone": "0612345678"},
        headers=service.citizen("AB123456", acr="low").headers,
    )
    bad = await service.client.patch(
        "/v1/pensions/me",
        json={"phone": "0512"},
        headers=service.citizen("AB123456").headers,
    )
    good = await service.client.patch(
        "/v1/pensions/me",
        json={"phone": "06 12 34 56 78"},
        headers=service.citizen("AB123456").headers,
    )

    assert problem(low, 403)["required_acr"] == "substantial"
    assert problem(bad, 422)["errors"][0]["field"] == "phone"
    assert good.json()["phone"] == "+212612345678"
    contacts = await service.events("pensions.affiliate.contact_registered")
    assert [event["data"] for event in contacts] == [{"cin": "AB123456", "phone": "+212612345678"}]


async def test_an_empty_or_unknown_change_is_refused(service: Service) -> None:
    await service.affiliate("AB123456")
    citizen = service.citizen("AB123456")

    empty = await service.client.patch("/v1/pensions/me", json={}, headers=citizen.headers)
    birth = await service.client.patch(
        "/v1/pensions/me", json={"birth_date": "1990-01-01"}, headers=citizen.headers
    )

    assert problem(empty, 422)["type"].endswith("/validation-error")
    assert problem(birth, 422)["errors"][0]["field"] == "birth_date"
