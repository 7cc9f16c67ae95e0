"""In-process moto DynamoDB for dedupe tests and benchmarks.

Real DynamoDB evaluates a condition and applies the write atomically per item. moto 5.2.5 does not: its
backend reads the current item, evaluates the ConditionExpression and then writes, with no lock, so two threads
can both pass `attribute_not_exists` and both "win". `atomic_writes()` serializes moto's item operations with
one lock, which restores DynamoDB's per-item atomicity (and costs nothing that matters in-process).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

REGION = "us-east-1"
_ITEM_OPERATIONS = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items")


@contextmanager
def atomic_writes() -> Iterator[None]:
    """Patch moto's DynamoDB backend so each item operation runs under one lock (as DynamoDB is atomic)."""
    lock = threading.RLock()
    originals = {name: getattr(DynamoDBBackend, name) for name in _ITEM_OPERATIONS}

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return wrapper

    for name, method in originals.items():
        setattr(DynamoDBBackend, name, locked(method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)


@contextmanager
def moto_dynamodb() -> Iterator[Any]:
    """A boto3 DynamoDB client on in-process moto (fake credentials, atomic item writes)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    with mock_aws(), atomic_writes(), _environ(env):
        yield client()


def client() -> Any:
    """A DynamoDB client for moto: unsigned (moto checks no signatures; saves ~20% per call), validated."""
    return boto3.client("dynamodb", region_name=REGION, config=Config(signature_version=UNSIGNED))


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
