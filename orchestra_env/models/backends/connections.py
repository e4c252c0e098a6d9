"""HTTP connections whose connect has its own short timeout, failing as `Unreachable`, so a
dead server is told apart from a slow reply."""

from __future__ import annotations

import http.client
import urllib.request
from typing import Any


class Unreachable(OSError):
    """Opening the connection failed: the server was never reached (told apart from a reply
    that is late or cut off, which may have reached a busy server)."""

    def __init__(self, error: OSError, connect_timeout_s: float):
        if isinstance(error, TimeoutError):
            text = f"no connection within the {connect_timeout_s:g} s connect timeout"
        else:
            reason = error.strerror or str(error)
            text = reason[:1].lower() + reason[1:]
        super().__init__(text)
        self.text = text


class _ConnectTimeout:
    """An http.client connection whose connect (DNS lookup and TCP handshake) has its own
    timeout and fails as `Unreachable`; the socket then waits `timeout` for the reply."""

    def __init__(self, *args: Any, connect_timeout_s: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        create = self._create_connection

        def create_connection(address, timeout, source_address=None):
            try:
                sock = create(address, connect_timeout_s, source_address)
            except OSError as e:
                raise Unreachable(e, connect_timeout_s) from e
            sock.settimeout(timeout)
            return sock

        self._create_connection = create_connection


class _HTTPConnection(_ConnectTimeout, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ConnectTimeout, http.client.HTTPSConnection):
    pass


class HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_timeout_s: float):
        super().__init__()
        self.connect_timeout_s = connect_timeout_s

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, connect_timeout_s=self.connect_timeout_s)


class HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connect_timeout_s: float):
        super().__init__()
        self.connect_timeout_s = connect_timeout_s

    def https_open(self, req):
        return self.do_open(
            _HTTPSConnection, req, context=self._context, connect_timeout_s=self.connect_timeout_s
        )
