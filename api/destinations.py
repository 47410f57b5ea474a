"""Where webhooks may be delivered: public addresses only, unless the operator allows more.

A subscriber chooses the URL, and the dispatcher runs inside the network: without a check
a subscription to `http://169.254.169.254/` or `http://10.0.0.5:5432/` would have Goalpost
send requests where its subscribers cannot (server-side request forgery). The check is
made where the connection is opened, on the very address connected to, so a host name
that resolves differently between a check and the connection (DNS rebinding) gains
nothing. TLS still verifies the certificate against the host name.

`GOALPOST_WEBHOOK_ALLOW_PRIVATE=true` lifts it, for receivers on the same network or
machine (development, tests, the demo).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateDestinationError(httpcore.ConnectError):
    """The host resolves to no address a webhook may be sent to."""


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared, reserved..."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refused_host(host: str) -> str | None:
    """Why a URL's host is refused before any lookup (an address literal, localhost)."""
    if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
        return "localhost is not a public destination"
    address = literal_address(host)
    if address is not None and not is_public(address):
        return f"{address} is not a public address"
    return None


class PublicOnlyBackend(httpcore.NetworkBackend):
    """Resolves the host itself and connects only to a public address it resolved to."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        public = [a for a in addresses if is_public(a)]
        if not public:
            listed = ", ".join(sorted({str(a) for a in addresses}))
            raise PrivateDestinationError(
                f"{host} resolves only to addresses that are not public ({listed}); "
                "set GOALPOST_WEBHOOK_ALLOW_PRIVATE=true to deliver inside the network"
            )
        return self._inner.connect_tcp(
            str(public[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise PrivateDestinationError("webhooks are never delivered to a local socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def public_only(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """The transport, connecting only to public addresses."""
    pool: Any = transport._pool  # httpx keeps its httpcore pool here; a test guards it
    pool._network_backend = PublicOnlyBackend(pool._network_backend)
    return transport
