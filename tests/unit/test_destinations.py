"""Which webhook destinations are public: the addresses the dispatcher may connect to."""

from __future__ import annotations

import ipaddress

import pytest

from api.destinations import is_public, refused_host


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:127.0.0.1",
    ],
)
def test_inside_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_hosts_refused_before_any_lookup() -> None:
    assert refused_host("localhost") is not None
    assert refused_host("api.localhost") is not None
    assert refused_host("[::1]") is not None
    assert refused_host("10.0.0.5") is not None
    # Names are looked up at delivery time, where the connection is made.
    assert refused_host("hrms.example.com") is None
    assert refused_host("8.8.8.8") is None
