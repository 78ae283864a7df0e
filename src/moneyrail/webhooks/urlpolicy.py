"""Which webhook URLs we deliver to: https in production, and never (unless allowed) to
private, loopback, link-local or otherwise internal addresses, checked after DNS resolution
both when the endpoint is saved and before every attempt.

An attempt connects to the very address that passed the check (`Target.address`): the URL
is rewritten to that IP, with the original host in `Host` and as the TLS server name, so a
second DNS answer (DNS rebinding) can never steer the connection to an internal host."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from moneyrail.core import limits
from moneyrail.core.errors import Unprocessable


class WebhookUrlRefused(Unprocessable):
    code = "webhook_url_refused"
    title = "Webhook URL not allowed"


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_syntax(url: str, *, require_https: bool) -> tuple[str, int]:
    """The host and port of an acceptable URL.

    Raises:
        WebhookUrlRefused: not http(s), https missing in production, credentials in the URL.
    """
    if len(url) > limits.webhook_url_length_max:
        raise WebhookUrlRefused("the URL is too long")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise WebhookUrlRefused("the URL is malformed") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlRefused("webhook URLs must use http or https")
    if require_https and parts.scheme != "https":
        raise WebhookUrlRefused("webhook URLs must use https")
    if parts.username or parts.password:
        raise WebhookUrlRefused("webhook URLs must not carry credentials")
    if not hostname or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookUrlRefused("the URL has no valid host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlRefused("the URL has an invalid port") from exc
    return hostname, port


async def resolve(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise WebhookUrlRefused(f"the host {host!r} does not resolve") from exc
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Target:
    """Where an attempt connects: the checked address, and what to tell the server."""

    url: str
    host: str
    port: int
    address: str
    internal: bool

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if parts.port is None else f"{host}:{parts.port}"


async def check(url: str, *, require_https: bool, allow_private: bool) -> None:
    """Whether an endpoint may be saved with `url` (where private targets are allowed, a
    host that does not resolve yet is accepted: it is resolved at each attempt).

    Raises:
        WebhookUrlRefused: when `url` must not receive deliveries.
    """
    if allow_private:
        check_syntax(url, require_https=require_https)
        return
    await target(url, require_https=require_https, allow_private=False)


async def target(url: str, *, require_https: bool, allow_private: bool) -> Target:
    """The address an attempt connects to for `url`, every address it resolves to being
    allowed.

    Raises:
        WebhookUrlRefused: when `url` must not receive deliveries.
    """
    host, port = check_syntax(url, require_https=require_https)
    addresses = await resolve(host, port)
    internal = False
    for address in addresses:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
        if _is_internal(parsed):
            if not allow_private:
                raise WebhookUrlRefused(
                    "the URL resolves to a private, loopback or link-local address"
                )
            internal = True
    if not addresses:
        raise WebhookUrlRefused(f"the host {host!r} does not resolve")
    return Target(url=url, host=host, port=port, address=addresses[0], internal=internal)
