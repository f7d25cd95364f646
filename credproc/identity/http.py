"""HTTP to token endpoints (Google STS and IAM Credentials, Entra ID, identity providers, GitHub
Actions): urllib, with two rules urlopen does not keep.

* No redirect is followed: a 3xx is the answer (urllib raises HTTPError with its status). urllib
  would resend the request's headers, a bearer token or Basic credentials included, to wherever the
  Location points, and the new address would escape the "https, or plain http to loopback only"
  check its caller made on the configured one.
* A plain-http URL to a loopback address never goes through a proxy: the request (an assertion, a
  token) would leave the machine in clear.
"""
import ipaddress
import urllib.parse
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # urllib then raises HTTPError(3xx): the caller reports an unexpected status


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_url(request: urllib.request.Request, timeout: float, *, follow_redirects: bool = False):
    """urlopen(request, timeout) under the two rules above (``follow_redirects`` only for a GET
    that carries no credential, e.g. a discovery document)."""
    handlers = [] if follow_redirects else [_NoRedirect()]
    parts = urllib.parse.urlsplit(request.full_url)
    if parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(request, timeout=timeout)
