"""Where webhooks may be sent, and sending there (decision 0018).

A webhook is a request the server makes on a tenant's behalf, so a tenant must not be able to
point it at what only the server reaches: loopback, private networks, link-local (cloud
metadata at 169.254.169.254), other non-public ranges, or the instance's own addresses.
Every address a target could mean is checked:

- when the webhook is saved, the URL's host as written, in every form resolvers accept for
  an address (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``, ``[::1]``,
  ``[::ffff:127.0.0.1]``), and names that are local by definition (``localhost``) or the
  instance's own;
- when it is delivered, every address the name resolves to (one refused address refuses the
  target), and the connection goes to the checked address itself, never to a second lookup,
  so a name that resolves differently the next time (DNS rebinding) gains nothing.

The operator may allow named internal hosts, addresses or networks with
``TANDEM_WEBHOOK_ALLOWED_HOSTS`` (settings ``WEBHOOK_ALLOWED_HOSTS``).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Shown when a URL is refused at save (the tenant's owner reads it).
REFUSED = (
    "Webhooks go to public internet addresses only: loopback, private, link-local and this "
    "instance's own addresses are refused (the operator can allow internal hosts with "
    "TANDEM_WEBHOOK_ALLOWED_HOSTS)."
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: Host spellings that inet_aton reads as an IPv4 address but ipaddress does not.
_LEGACY_IPV4 = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)(\.(0[xX][0-9a-fA-F]+|[0-9]+)){0,3}$")


class TargetRefused(Exception):
    """The target is not a public address and the operator has not allowed it."""


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, in any form a resolver accepts, or None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host.rstrip(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def _embedded(address: Address) -> list[Address]:
    """The address and any IPv4 address it carries (mapped, 6to4, NAT64): ``::ffff:127.0.0.1``
    reaches 127.0.0.1."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: Address) -> bool:
    """A global unicast address (and so is every IPv4 address it carries)."""
    return all(a.is_global and not a.is_multicast for a in _embedded(address))


@dataclass(frozen=True)
class Allowed:
    """The operator's exceptions: host names, and addresses or networks."""

    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_settings(cls) -> Allowed:
        names: set[str] = set()
        networks = []
        for entry in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", ()):
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def address(self, address: Address) -> bool:
        return any(a in n for a in _embedded(address) for n in self.networks)


def _own_names() -> set[str]:
    """The names this instance answers to: its site URL's host and its allowed hosts."""
    names = {(urlsplit(settings.SITE_URL).hostname or "").lower()}
    for host in settings.ALLOWED_HOSTS:
        host = host.lower().strip()
        if host and "*" not in host and not host.startswith("."):
            names.add(host.strip("[]"))
    return {n.rstrip(".") for n in names if n}


def _is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost") or host in _own_names()


def check_url_host(host: str) -> None:
    """Refuse, at save, a host that is a non-public address in any spelling, a local name or
    one of the instance's own, unless the operator allowed it. Other names are checked
    after resolution, at every delivery."""
    allowed = Allowed.from_settings()
    if allowed.name(host):
        return
    address = literal_address(host)
    if address is not None:
        if not is_public(address) and not allowed.address(address):
            raise TargetRefused(REFUSED)
        return
    if _is_local_name(host):
        raise TargetRefused(REFUSED)


def _resolve(host: str, port: int) -> list[Address]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _own_addresses() -> set[Address]:
    found: set[Address] = set()
    for name in _own_names():
        literal = literal_address(name)
        if literal is not None:
            found.add(literal)
            continue
        try:
            found.update(_resolve(name, 0))
        except OSError:
            continue
    return found


def checked_addresses(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, all of them allowed; else :class:`TargetRefused`.

    Allowed: public and not the instance's own, or allowed by the operator (by this name,
    or by address or network).
    """
    allowed = Allowed.from_settings()
    literal = literal_address(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    if not addresses:
        raise TargetRefused("the name resolves to no address")
    if allowed.name(host):
        return addresses
    own = _own_addresses()
    for address in addresses:
        if allowed.address(address):
            continue
        if not is_public(address) or address in own:
            raise TargetRefused(f"{host} resolves to {address}, which is not allowed")
    return addresses


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to one checked address, with the URL's host in the ``Host`` header."""

    def __init__(self, host: str, port: int, *, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to one checked address; the certificate is verified for the URL's host."""

    def __init__(self, host: str, port: int, *, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST ``body`` to ``url`` at one of its checked addresses; returns the HTTP status.

    Redirects are not followed (they would turn the POST into a GET, and could point
    anywhere). Raises :class:`TargetRefused` for a refused target and ``OSError`` or
    ``http.client.HTTPException`` when no answer comes.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    addresses = checked_addresses(host, port)
    kind: Any = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    error: OSError | None = None
    for address in addresses:
        connection = kind(host, port, address=address, timeout=timeout)
        try:
            connection.connect()
        except OSError as exc:  # this address does not answer: try the next checked one
            error = exc
            connection.close()
            continue
        try:
            # Sent once, to the first address that accepted the connection.
            connection.request("POST", path, body=body, headers=headers)
            return int(connection.getresponse().status)
        finally:
            connection.close()
    raise error or OSError("no address answered")
