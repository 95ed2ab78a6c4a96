"""What keeps other web pages from driving ``colorlib serve``: Jupyter Server's three guards.

A server on 127.0.0.1 is reachable from every page the user's browser opens. A page of another
site can send "simple" requests to it (a POST of ``text/plain`` needs no preflight), and a page
that rebinds its own domain name to 127.0.0.1 (DNS rebinding) can even read the answers. So,
as Jupyter Server does:

- **a ``Host`` allow-list** (Starlette's :class:`~starlette.middleware.trustedhost.TrustedHostMiddleware`
  over :func:`allowed_hosts`): the names of this machine's loopback, or the ``--host`` given, on the
  server's own port (:class:`PageGuard`); a rebinding page's own name is refused;
- **a token** made at random per server start and written into the page: every ``/api/``
  request carries it in the :data:`TOKEN_HEADER` header, which no other site can read or set
  without a CORS preflight this server never grants;
- **an ``Origin`` and Fetch Metadata check**: an ``/api/`` request whose ``Origin`` is not the
  server's own, or whose ``Sec-Fetch-Site`` says another site, is refused with 403; JSON routes take
  only ``application/json`` and uploads only ``application/octet-stream`` or ``image/*``.

Every answer carries :data:`SECURITY_HEADERS`: a Content-Security-Policy that lets the page load
only its own files and forbids framing it, ``nosniff`` and ``no-referrer``. Refusals are JSON
``{"error": sentence}``, as the page's other errors are.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import socket
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

#: The header that carries the page's token.
TOKEN_HEADER = "X-Colorlib-Token"
#: The names of this machine that the server answers to wherever it listens.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: Addresses that listen on every interface (``--host 0.0.0.0``).
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
#: Paths that need the token and the same-site checks (the page and its files do not).
API_PREFIX = "/api/"
#: ``Sec-Fetch-Site`` values of the page's own requests (``none``: typed into the address bar).
SAME_SITE_FETCH = ("same-origin", "none")
#: Content types of the JSON routes and of uploads (the raw file).
JSON_TYPE = "application/json"
UPLOAD_TYPES = ("application/octet-stream", "image/")
#: Sent with every answer: the page loads only its own files (and the previews it makes as blobs),
#: is never framed, never sniffed and never names itself to another site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def new_token() -> str:
    """A random token for one server start: 32 bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


def url_host(host: str) -> str:
    """An IPv6 address as a ``Host`` header writes it: ``::1`` -> ``[::1]``; other names as they are."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    return f"[{address}]" if address.version == 6 else host


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> list[str]:
    """The ``Host`` names the server answers to when it listens on ``host``.

    Always this machine's loopback (:data:`LOOPBACK_HOSTS`) and ``host`` itself; for a wildcard
    address (``0.0.0.0``, which lets other machines in), also this machine's name and addresses, by
    which the others reach it. ``extra``: more names (``--allow-host``), e.g. a name in /etc/hosts.
    """
    names = [*LOOPBACK_HOSTS, *extra]
    if host in WILDCARD_HOSTS:
        hostname = socket.gethostname()
        names += [hostname, socket.getfqdn()]
        try:
            names += socket.gethostbyname_ex(hostname)[2]
        except OSError:  # a machine whose own name does not resolve
            pass
    else:
        names.append(host)
    return list(dict.fromkeys(url_host(name.lower()) for name in names if name))


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``"localhost:8000"`` -> ``("localhost", 8000)``; a missing port is None; nonsense is None."""
    try:
        parts = urllib.parse.urlsplit(f"//{value}")
        return (parts.hostname or "", parts.port)
    except ValueError:
        return None


class PageGuard:
    """ASGI middleware: the security headers on every answer; the token, ``Origin``, Fetch Metadata,
    port and content-type checks on every ``/api/`` request (see the module docstring).

    ``upload_paths``: the POST routes that take a raw file, as regular expressions matched against
    the whole path; every other POST under ``/api/`` takes JSON.
    """

    def __init__(self, app, token: str, upload_paths: Sequence[str] = ()) -> None:
        if not token:
            raise ValueError("PageGuard needs a token; make one with new_token().")
        self.app = app
        self.token = token
        self.upload_paths = tuple(re.compile(pattern) for pattern in upload_paths)

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in SECURITY_HEADERS.items()
                    if name.lower().encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            status, sentence = refusal
            body = json.dumps({"error": sentence}).encode()
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send_with_headers)

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        """``(status, sentence)`` for a request this server refuses, else None."""
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        host = _split_host(headers.get("host", ""))
        server_port = (scope.get("server") or (None, None))[1]
        if host is None or (server_port is not None and (host[1] or 80) != server_port):
            return 400, f"Invalid host header: open the page at this server's address, port {server_port}."
        if not scope["path"].startswith(API_PREFIX):
            return None
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in SAME_SITE_FETCH:
            return 403, f"Refused: this request came from another site (Sec-Fetch-Site: {fetch_site})."
        origin = headers.get("origin")
        if origin is not None and origin != f"{scope.get('scheme', 'http')}://{headers['host']}":
            return 403, f"Refused: this request came from another site (Origin: {origin})."
        if not secrets.compare_digest(headers.get(TOKEN_HEADER.lower(), "").encode(), self.token.encode()):
            return 403, (
                "Refused: the request does not carry this server's token. If colorlib serve was "
                "restarted since this page was opened, reload the page."
            )
        if scope["method"] == "POST":
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if any(pattern.fullmatch(scope["path"]) for pattern in self.upload_paths):
                if not kind.startswith(UPLOAD_TYPES):
                    return 415, "Send the photo's file as application/octet-stream or image/*."
            elif kind != JSON_TYPE:
                return 415, f"Send this request as {JSON_TYPE}, not {kind or 'without a content type'}."
        return None
