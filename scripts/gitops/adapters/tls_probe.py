"""Is a Kubernetes API server reachable? A TCP connect and a TLS handshake, nothing more.

No HTTP request is sent, so no credential from the kubeconfig ever leaves this process: the
probe only proves that the address answers and (when the kubeconfig carries a CA) that the
server's certificate is signed by that CA and names the host.
"""

from __future__ import annotations

import base64
import binascii
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ProbeResult:
    reachable: bool
    detail: str  # what happened, safe to print (host:port and the error class/reason only)


def probe(server: str, ca_data_b64: str | None, *, timeout: float = 5.0) -> ProbeResult:
    parts = urlsplit(server)
    host = parts.hostname or ""
    port = parts.port or 443
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        return ProbeResult(False, f"{where} did not answer within {timeout:g}s")
    except OSError as exc:
        return ProbeResult(False, f"{where} is not reachable ({exc.strerror or type(exc).__name__})")
    with sock:
        context = ssl.create_default_context()
        if ca_data_b64:
            try:
                context = ssl.create_default_context(cadata=base64.b64decode(ca_data_b64).decode("ascii"))
            except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError):
                return ProbeResult(
                    False,
                    f"{where} answered, but the kubeconfig's certificate-authority-data is not a certificate",
                )
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                version = tls.version() or "TLS"
        except ssl.SSLCertVerificationError as exc:
            return ProbeResult(
                False, f"{where} answered, but its certificate is not trusted ({exc.verify_message})"
            )
        except ssl.SSLError as exc:
            return ProbeResult(
                False, f"{where} answered, but the TLS handshake failed ({exc.reason or type(exc).__name__})"
            )
        except TimeoutError:
            return ProbeResult(False, f"{where} accepted the connection but the TLS handshake timed out")
        except OSError as exc:
            return ProbeResult(
                False, f"{where} closed the connection during the TLS handshake ({type(exc).__name__})"
            )
    return ProbeResult(True, f"{where} answered a {version} handshake")
