"""Where the server may send a request on a user's behalf (job webhooks): never to itself,
its private network or a cloud metadata service (SSRF).

A URL is parsed once, the WHATWG way (so ``http://2130706433/``, ``http://0x7f.1/`` and
``http://[::ffff:127.0.0.1]/`` all mean 127.0.0.1), its host is resolved, and *every*
address must pass. Delivery then connects to an address that passed, not to the name
again, so a name that resolves elsewhere a second later (DNS rebinding) gains nothing.

``allow_private`` (``RENDERHOUSE_WEBHOOK_ALLOW_PRIVATE``) admits loopback, RFC 1918,
unique-local, link-local and CGNAT targets for on-premises receivers; unspecified,
multicast, reserved and metadata addresses stay refused whatever the setting."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from pydantic_core import Url

from renderhouse.errors import InvalidInput

IPAddress = IPv4Address | IPv6Address
Lookup = Callable[[str, int], list[str]]
"""``(host, port) -> addresses``; ``system_lookup`` unless a test injects a resolver."""

SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA = frozenset(
    ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_THIS_NETWORK = ip_network("0.0.0.0/8")
_CGNAT = ip_network("100.64.0.0/10")
_NAT64 = ip_network("64:ff9b::/96")
_PRIVATE = tuple(
    ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


class ForbiddenTarget(InvalidInput):
    """Not a target the server will send requests to; ``details.reason`` says why."""

    code = "webhook_url_forbidden"


@dataclass(frozen=True)
class Target:
    url: str
    """normalised (IPv4 in dotted quads, IDNs in punycode)"""
    scheme: str
    host: str
    """as in a URL: a name, a dotted quad or a bracketed IPv6 literal"""
    port: int
    address: IPAddress | None
    """set when the host is an IP literal, in whatever spelling it was written"""

    @property
    def authority(self) -> str:
        """The ``Host`` header value."""
        return self.host if DEFAULT_PORTS[self.scheme] == self.port else f"{self.host}:{self.port}"


def _refuse(url: str, reason: str, message: str, address: str | None = None) -> ForbiddenTarget:
    details = {"field": "webhook_url", "reason": reason, "url": url}
    if address is not None:
        details["address"] = address
    return ForbiddenTarget(message, details=details)


def parse(url: str) -> Target:
    """The target of ``url``; ``ForbiddenTarget`` for a non-http(s) scheme, credentials in
    the URL or something that is not a URL at all."""
    try:
        parsed = Url(url)
    except ValueError as exc:
        raise _refuse(url, "invalid_url", f"webhook_url is not a valid URL: {url!r}") from exc
    if parsed.scheme not in SCHEMES:
        raise _refuse(url, "scheme", f"webhook_url must be http:// or https://, not {url!r}")
    if parsed.username or parsed.password:
        raise _refuse(url, "credentials", "webhook_url must not carry a user name or password")
    if not parsed.host or parsed.port is None:
        raise _refuse(url, "invalid_url", f"webhook_url names no host: {url!r}")
    try:
        address: IPAddress | None = ip_address(parsed.host.strip("[]"))
    except ValueError:
        address = None
    return Target(str(parsed), parsed.scheme, parsed.host, parsed.port, address)


def _embedded(ip: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible or NAT64)."""
    if not isinstance(ip, IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, allow_private: bool = False) -> str | None:
    """Why ``ip`` is no place to send a request to, or None when it may be."""
    inner = _embedded(ip)
    if inner is not None:
        return refusal(inner, allow_private)
    if ip in METADATA:
        return "metadata"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return None if allow_private else "loopback"
    if ip.is_link_local:
        return None if allow_private else "link_local"
    if any(ip in net for net in _PRIVATE) or (isinstance(ip, IPv6Address) and ip.is_site_local):
        return None if allow_private else "private"
    if ip in _CGNAT:
        return None if allow_private else "cgnat"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def _is_localhost(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def system_lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def addresses(target: Target, allow_private: bool, lookup: Lookup | None = None) -> list[IPAddress]:
    """The addresses of ``target``, every one allowed, in resolver order. Raises
    ``ForbiddenTarget`` if any is refused and ``OSError`` if the name does not resolve."""
    if target.address is not None:
        found = [target.address]
    elif _is_localhost(target.host):
        found = [ip_address("127.0.0.1")]  # RFC 6761, whatever the resolver would say
    else:
        raw = (lookup or system_lookup)(target.host, target.port)
        # A zone index (fe80::1%eth0) names an interface, not another address.
        found = list(dict.fromkeys(ip_address(a.split("%", 1)[0]) for a in raw))
        if not found:
            raise OSError(f"{target.host} has no address")
    for ip in found:
        reason = refusal(ip, allow_private)
        if reason is not None:
            how = "is" if target.address is not None else f"resolves to {ip}, which is"
            raise _refuse(
                target.url,
                reason,
                f"webhook_url {how} a forbidden address ({reason}); webhooks go to public "
                "hosts only (RENDERHOUSE_WEBHOOK_ALLOW_PRIVATE admits private networks for "
                "on-premises receivers)",
                str(ip),
            )
    return found


def check(url: str, allow_private: bool, lookup: Lookup | None = None) -> list[IPAddress]:
    """``parse`` then ``addresses``: the allowed addresses of ``url``."""
    return addresses(parse(url), allow_private, lookup)
