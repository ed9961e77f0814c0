"""Fixtures for the ai service's unit tests: real candles from the training data, and an app whose
candle source is replaced by those candles (no NATS, no Redis, no market service)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ai_service import engine as engine_module
from ai_service.app import create_app
from ai_service.features import Candles
from suite_shared.errors import InvalidSymbol, UpstreamUnavailable
from suite_shared.messages.market import CandlesReply
from suite_shared.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "training" / "data" / "ohlcv"
OFFLINE = Settings(
    redis_url="redis://127.0.0.1:1/0",
    nats_url="nats://127.0.0.1:1",
    redis_timeout_s=0.05,
    market_url="http://127.0.0.1:1",
    sentiment_url="http://127.0.0.1:1",
)


def load(symbol: str, timeframe: str) -> Candles:
    with gzip.open(DATA / f"{symbol}_USDT-{timeframe}.json.gz", "rt") as handle:
        return Candles.from_rows(json.load(handle))


@pytest.fixture(scope="session")
def btc_hourly() -> Candles:
    return load("BTC", "1h")


class FakeMarket:
    """Answers candle requests from the recorded data: the last 400 candles, or a chosen failure."""

    def __init__(self) -> None:
        self.down = False
        self.series = {
            ("BTC/USDT", "1h"): load("BTC", "1h"),
            ("BTC/USDT", "1d"): load("BTC", "1d"),
            ("ETH/USDT", "1h"): load("ETH", "1h"),
        }

    async def __call__(
        self, bus: object, symbol: str, timeframe: str, timeout_s: float, limit: int = 400
    ) -> tuple[Candles, CandlesReply]:
        if self.down:
            raise UpstreamUnavailable("The market service did not answer for candles.")
        if symbol.split("/")[0] not in {"BTC", "ETH"}:
            raise InvalidSymbol(f"Unknown symbol {symbol}", {"symbol": symbol})
        source = self.series.get((symbol, timeframe)) or _resampled(self.series[(symbol, "1h")], timeframe)
        candles = source.head(len(source))
        tail = Candles(*(getattr(candles, name)[-limit:] for name in ("t", "o", "h", "l", "c", "v")))
        return tail, CandlesReply(symbol=symbol, timeframe=timeframe, source="recorded")


def _resampled(hourly: Candles, timeframe: str) -> Candles:
    bars = {"4h": 4, "1d": 24}[timeframe]
    keep = len(hourly) // bars * bars
    shape = (-1, bars)
    return Candles(
        t=hourly.t[:keep].reshape(shape)[:, 0],
        o=hourly.o[:keep].reshape(shape)[:, 0],
        h=hourly.h[:keep].reshape(shape).max(axis=1),
        l=hourly.l[:keep].reshape(shape).min(axis=1),
        c=hourly.c[:keep].reshape(shape)[:, -1],
        v=hourly.v[:keep].reshape(shape).sum(axis=1),
    )


@pytest.fixture
def market(monkeypatch: pytest.MonkeyPatch) -> FakeMarket:
    fake = FakeMarket()
    monkeypatch.setattr(engine_module, "fetch_candles", fake)
    return fake


@pytest.fixture
def client(market: FakeMarket) -> Iterator[TestClient]:
    with TestClient(create_app(OFFLINE)) as test_client:
        yield test_client


@pytest.fixture
def broken_client(tmp_path: Path, market: FakeMarket) -> Iterator[TestClient]:
    """The app with a truncated forecast model and no sentiment model at all."""
    artifacts = Path(engine_module.__file__).parent / "artifacts"
    for name in ("forecast.json", "sentiment.json", "signals.json"):
        (tmp_path / name).write_text((artifacts / name).read_text())
    (tmp_path / "forecast.onnx").write_bytes((artifacts / "forecast.onnx").read_bytes()[:1000])
    with TestClient(create_app(OFFLINE, model_dir=tmp_path)) as test_client:
        yield test_client


# (file of the transformer that is broken, how, the reason health and /api/models must give)
TRANSFORMER_FAULTS = [
    ("headlines.onnx", "missing", "artefact missing"),
    ("headlines.onnx", "corrupt", "artefact unreadable or corrupt"),
    ("headlines.tokenizer.json", "corrupt", "artefact unreadable or corrupt"),
    ("headlines.json", "missing", "artefact missing"),
]


@pytest.fixture(params=TRANSFORMER_FAULTS, ids=[f"{name}-{how}" for name, how, _ in TRANSFORMER_FAULTS])
def fallback_client(
    request: pytest.FixtureRequest, tmp_path: Path, market: FakeMarket
) -> Iterator[tuple[TestClient, str]]:
    """The app with every artefact but one of the transformer's files missing or truncated; and the reason."""
    name, how, reason = request.param
    artifacts = Path(engine_module.__file__).parent / "artifacts"
    for path in artifacts.iterdir():
        if path.is_file():
            (tmp_path / path.name).write_bytes(path.read_bytes())
    broken = tmp_path / name
    if how == "missing":
        broken.unlink()
    else:
        broken.write_bytes(broken.read_bytes()[:2000])  # truncated, as a partial copy leaves it
    with TestClient(create_app(OFFLINE, model_dir=tmp_path)) as test_client:
        yield test_client, reason
