"""URL checks for links in entities and inline keyboard buttons.

The reasons ("Unsupported URL protocol", "Wrong HTTP URL", "URL host is empty",
"Wrong tg URL") are the ones the official server puts after
"... URL '<url>' is invalid: ".
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# "mailto:x", "javascript:alert(1)": a scheme without "//". A digit after the colon is
# read as host:port instead, as TDLib does for "localhost:8080".
_SCHEME_NO_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(?!\d)")
_HOST_CHARS = re.compile(r"^[\w\-.~%]+$")
_TG_URL = re.compile(r"^tg:(//)?[A-Za-z0-9_\-]+/?(\?.*)?$", re.IGNORECASE)
_TG_USER = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)


def link_user_id(url: str) -> int | None:
    """tg://user?id=N links become text_mention entities instead of text_link."""
    match = _TG_USER.match(url.strip())
    return int(match.group(1)) if match else None


def check_link(url: str) -> tuple[str, str | None]:
    """Validate a link; return (normalized_url, None) or (url, reason).

    Telegram normalizes the links it accepts: the scheme and host are lowercased,
    "http://" is added when missing, and an empty path becomes "/".
    """
    url = url.strip()
    if not url:
        return url, "URL host is empty"
    if url.lower().startswith(("tg:", "ton:")):
        if url.lower().startswith("ton:") or _TG_URL.match(url):
            return url, None
        return url, "Wrong tg URL"
    explicit = _SCHEME.match(url)
    if explicit:
        scheme = explicit.group(1).lower()
        if scheme not in ("http", "https"):
            return url, "Unsupported URL protocol"
        rest = url[explicit.end() :]
    elif _SCHEME_NO_SLASHES.match(url):
        return url, "Unsupported URL protocol"
    else:
        scheme, rest = "http", url
    split = min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
    authority, tail = rest[:split], rest[split:]
    host_port = authority.rsplit("@", 1)[-1]
    host, _, port = host_port.partition(":")
    if not host:
        return url, "URL host is empty"
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return url, "Wrong port number specified in the URL"
    if not _HOST_CHARS.match(host) or host.startswith(".") or ".." in host:
        return url, "Wrong HTTP URL"
    if not explicit and not _looks_like_domain(host):
        # Without a scheme only something that looks like a domain name is a link.
        return url, "Wrong HTTP URL"
    if not tail.startswith("/"):
        tail = "/" + tail
    userinfo = authority[: len(authority) - len(host_port)]
    return f"{scheme}://{userinfo}{host.lower()}{':' + port if port else ''}{tail}", None


def _looks_like_domain(host: str) -> bool:
    labels = host.split(".")
    if len(labels) == 4 and all(label.isdigit() for label in labels):
        return True
    return len(labels) >= 2 and labels[-1].isalpha() and len(labels[-1]) >= 2


def check_button_url(url: str) -> str | None:
    """Return the reason an inline keyboard button URL is rejected, or None."""
    _, reason = check_link(url)
    return reason
