"""A small REST client for tests (standard library only), speaking JSON to the gateway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class Rest:
    """REST calls to one base URL, optionally as a user (a bearer token sent with every call)."""

    def __init__(self, base: str, token: str | None = None, context: Any = None) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.context = context  # an ssl.SSLContext for https

    def as_user(self, token: str | None) -> Rest:
        return Rest(self.base, token, self.context)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as reply:
                return Response(reply.status, dict(reply.headers), reply.read().decode())
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers), err.read().decode())

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None) -> Response:
        return self.request(
            "POST", path, body if body is not None else ({} if raw is None else None), raw=raw
        )

    def patch(self, path: str, body: Any) -> Response:
        return self.request("PATCH", path, body)
