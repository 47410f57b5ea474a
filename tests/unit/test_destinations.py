"""Which webhook destinations are public: the addresses the dispatcher may connect to."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import httpcore
import pytest

from delivery.destinations import (
    PrivateDestinationError,
    PublicOnlyBackend,
    is_public,
    refused_host,
)


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


# IPv6 addresses that carry an inside IPv4 address, each reaching it another way.
CARRYING_INSIDE = [
    pytest.param("::127.0.0.1", id="IPv4-compatible loopback"),
    pytest.param("::a9fe:a9fe", id="IPv4-compatible metadata"),
    pytest.param("::ffff:0:10.0.0.5", id="IPv4-translated"),
    pytest.param("64:ff9b::127.0.0.1", id="NAT64 well-known loopback"),
    pytest.param("64:ff9b::a9fe:a9fe", id="NAT64 well-known metadata"),
    pytest.param("64:ff9b:1::a9fe:a9fe", id="NAT64 local-use /96"),
    # The local-use prefix cut at /48: 10.0.0.5 sits around bits 64-71.
    pytest.param("64:ff9b:1:a00:0:5::", id="NAT64 local-use /48"),
    pytest.param("2002:7f00:1::1", id="6to4 loopback"),
    pytest.param("2002:a9fe:a9fe::1", id="6to4 metadata"),
    pytest.param("2002:a00:5::1", id="6to4 private"),
    # Teredo keeps the client's address inverted: 5601:5601 is 169.254.169.254.
    pytest.param("2001:0:4136:e378:8000:63bf:5601:5601", id="Teredo metadata"),
    pytest.param("2001:0:4136:e378:8000:63bf:80ff:fffe", id="Teredo loopback"),
]


@pytest.mark.parametrize("address", CARRYING_INSIDE)
def test_ipv6_carrying_an_inside_ipv4_address_is_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("::ffff:8.8.8.8", id="IPv4-mapped"),
        pytest.param("64:ff9b::808:808", id="NAT64 well-known"),
        pytest.param("2002:808:808::1", id="6to4"),
        pytest.param("2001:0:4136:e378:8000:63bf:f7f7:f7f7", id="Teredo"),
    ],
)
def test_ipv6_carrying_a_public_ipv4_address_is_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", CARRYING_INSIDE)
def test_registration_refuses_the_literal_and_names_where_it_leads(address: str) -> None:
    refused = refused_host(f"[{address}]")
    assert refused is not None
    assert "leads to" in refused


class _Unreachable(httpcore.NetworkBackend):
    """The network behind the check: reaching it means the check let the address through."""

    def __init__(self) -> None:
        self.connected: list[str] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.connected.append(host)
        raise httpcore.ConnectError(f"{host} is unreachable from the tests")


@pytest.mark.parametrize("address", CARRYING_INSIDE)
def test_the_connection_is_refused_before_it_is_made(address: str) -> None:
    network = _Unreachable()
    backend = PublicOnlyBackend(network)
    with pytest.raises(PrivateDestinationError) as refused:
        backend.connect_tcp(address, 443, timeout=1)
    assert network.connected == []
    assert str(refused.value).startswith("destination refused")
