"""A counting, fault-injecting STS proxy in front of moto on 127.0.0.1.

Builds on tests/creds' FaultProxy (counts by form `Action=`, queued faults: ("status", code, xml),
("delay", seconds), ("drop",)) and adds:

    ("stall", seconds)   accept the request and send nothing for ``seconds`` (then drop the connection):
                         the client's read timeout fires, unlike "delay", which answers late
    skew_expiration(s)   shift the `Expiration` of every successful AssumeRoleWithWebIdentity answer by
                         ``s`` seconds: what a client sees when STS's clock and its own disagree
    bodies               every request's decoded form, in arrival order (to assert what was sent)
"""
import datetime
import re
import time
import urllib.parse

import support  # noqa: F401  (puts tests/creds on sys.path)
from credtest import FaultProxy, sts_error_xml  # noqa: F401  (re-exported)

AWRWI = "AssumeRoleWithWebIdentity"
_EXPIRATION = re.compile(rb"<Expiration>([^<]+)</Expiration>")


class StsProxy(FaultProxy):
    def __init__(self, upstream: str):
        super().__init__(upstream)
        self.skew_seconds = 0
        self.bodies = []

    def skew_expiration(self, seconds: float) -> None:
        self.skew_seconds = seconds

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.bodies.clear()

    def _handle(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("Action") or [None])[0]
        with self.lock:
            self.bodies.append({k: v[0] for k, v in form.items()})
            self.counts[action] = self.counts.get(action, 0) + 1
            pending = self.faults.get(action)
            fault = pending.pop(0) if pending else self.always.get(action)
        if fault is not None and fault[0] == "stall":
            time.sleep(fault[1])
            handler.close_connection = True
            handler.connection.close()
            return
        if fault is not None:
            self._fault(handler, fault, body)
            return
        self._forward(handler, body, rewrite=self.skew_seconds and action == AWRWI)

    def _forward(self, handler, body: bytes, rewrite=False) -> None:
        try:
            super()._forward(handler, body, self._skewed if rewrite else None)
        except OSError:  # the client was killed meanwhile, or moto is gone at the end of the session
            handler.close_connection = True

    def _skewed(self, data: bytes) -> bytes:
        """The STS answer with its Expiration moved by skew_seconds (a clock that is off)."""
        return _EXPIRATION.sub(lambda m: b"<Expiration>" + _shift(m.group(1), self.skew_seconds)
                               + b"</Expiration>", data)


def _shift(text: bytes, seconds: float) -> bytes:
    raw = text.decode().strip()
    parsed = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    shifted = parsed + datetime.timedelta(seconds=seconds)
    return shifted.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
