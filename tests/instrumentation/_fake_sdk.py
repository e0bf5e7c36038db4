"""A tiny stand-in SDK for testing the instrumentation core without any provider package."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any


class FakeError(Exception):
    pass


class Stream:
    def __init__(self, chunks: list[dict[str, Any]], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = False
        self.extra = "sdk attribute"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise FakeError("stream broke")
            yield chunk

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def helper(self) -> str:
        return "still works"


class AsyncStream:
    def __init__(self, chunks: list[dict[str, Any]], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = False

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[dict[str, Any]]:
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise FakeError("stream broke")
            yield chunk

    async def close(self) -> None:
        self.closed = True


class Client:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def create(
        self,
        *,
        model: str,
        prompt: str,
        max_tokens: int | None = None,
        stream: bool = False,
        fail: bool = False,
    ) -> Any:
        self.sent.append({"model": model, "prompt": prompt})
        if fail:
            raise FakeError("provider said no")
        if stream:
            return Stream(
                [
                    {"text": "hello "},
                    {"text": "world"},
                    {"usage": {"prompt_tokens": 12, "completion_tokens": 2}},
                ]
            )
        return {
            "model": f"{model}-2024-07-18",
            "id": "resp-1",
            "finish": "stop",
            "usage": {
                "prompt_tokens": 1200,
                "completion_tokens": 50,
                "prompt_tokens_details": {"cached_tokens": 1024},
            },
        }

    def create_nested(self, *, model: str, prompt: str) -> Any:
        return self.create(model=model, prompt=prompt)

    async def acreate(self, *, model: str, prompt: str, stream: bool = False) -> Any:
        if stream:
            return AsyncStream([{"text": "hi"}, {"usage": {"prompt_tokens": 5, "completion_tokens": 1}}])
        return self.create(model=model, prompt=prompt)
