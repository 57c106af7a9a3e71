"""The client address behind trusted proxies."""

from __future__ import annotations

from ipaddress import ip_network

from marfiq_identity.dependencies import client_address

GATEWAY = [ip_network("10.0.0.0/8")]


def test_without_a_trusted_peer_the_peer_is_the_client() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", GATEWAY) == "203.0.113.9"


def test_behind_the_gateway_the_address_it_appended_is_the_client() -> None:
    assert client_address("10.0.0.5", "198.51.100.1, 203.0.113.9", GATEWAY) == "203.0.113.9"


def test_every_trusted_hop_is_skipped() -> None:
    assert client_address("10.0.0.5", "203.0.113.9, 10.1.1.1", GATEWAY) == "203.0.113.9"


def test_garbage_beyond_the_last_trusted_hop_stops_at_that_hop() -> None:
    assert client_address("10.0.0.5", "not-an-address", GATEWAY) == "10.0.0.5"
