"""Where webhooks may be delivered: public addresses only, unless the operator allows more.

A subscriber chooses the URL, and the dispatcher runs inside the network: without a check
a subscription to `http://169.254.169.254/` or `http://10.0.0.5:5432/` would have Goalpost
send requests where its subscribers cannot (server-side request forgery). The check is
made where the connection is opened, on the very address connected to, so a host name
that resolves differently between a check and the connection (DNS rebinding) gains
nothing. TLS still verifies the certificate against the host name.

An IPv6 address that carries an IPv4 address (IPv4-mapped or -compatible, NAT64, 6to4,
Teredo) reaches that IPv4 address through the kernel or a translator or relay, so it is
judged by it: `[::127.0.0.1]` is loopback, `[64:ff9b::a9fe:a9fe]` the metadata service.

What a refused name resolved to goes to the dispatcher's log, for the operator, and never
into the error the subscriber reads back: that would map the inside for them.

`GOALPOST_WEBHOOK_ALLOW_PRIVATE=true` lifts the check, for receivers on the same network or
machine (development, tests, the demo).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

log = logging.getLogger("goalpost.webhooks")

# IPv6 prefixes whose last 32 bits are an IPv4 address (the mapped form has its own
# property): IPv4-compatible (RFC 4291, deprecated), IPv4-translated (SIIT, RFC 2765),
# and NAT64's well-known prefix, which RFC 6052 allows only as a /96.
_LAST_32_BITS = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("64:ff9b::/96"),
)
# NAT64's local-use prefix (RFC 8215) may be cut at any RFC 6052 length, each placing the
# IPv4 address elsewhere; which one a network's translator uses cannot be known here.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_NAT64_LOCAL_LENGTHS = (48, 56, 64, 96)


class PrivateDestinationError(httpcore.ConnectError):
    """The host resolves to no address a webhook may be sent to."""


def carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a packet sent to `address` may end up at; none for plain IPv6."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        # (server, client): the relay forwards to the client.
        return [address.teredo[1]]
    if any(address in prefix for prefix in _LAST_32_BITS):
        return [ipaddress.IPv4Address(address.packed[12:])]
    if address in _NAT64_LOCAL:
        return [_rfc6052(address.packed, length) for length in _NAT64_LOCAL_LENGTHS]
    return []


def _rfc6052(packed: bytes, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address in an RFC 6052 address with this prefix length."""
    if prefix_length == 96:
        return ipaddress.IPv4Address(packed[12:])
    # Bits 64 to 71 are always zero and never part of the IPv4 address.
    without_u = packed[:8] + packed[9:]
    start = prefix_length // 8
    return ipaddress.IPv4Address(without_u[start : start + 4])


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared, reserved...

    An IPv6 address carrying an IPv4 address is judged by it (by every place it may be).
    """
    if isinstance(address, ipaddress.IPv6Address):
        carried = carried_ipv4(address)
        if carried:
            return all(is_public(inside) for inside in carried)
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
        carried = carried_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
        # The subscriber wrote this address: naming what it carries tells them nothing new.
        via = f" (it leads to {', '.join(sorted({str(a) for a in carried}))})" if carried else ""
        return f"{address} is not a public address{via}"
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
            log.warning("webhook destination %s refused: it resolves to %s", host, listed)
            # The subscription's last_error, which its service reads: no addresses.
            raise PrivateDestinationError(
                f"destination refused: {host} resolves to no public address; "
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
