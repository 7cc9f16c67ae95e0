"""The Azurite harness: blob, queue and table work, and no process is left behind."""

from __future__ import annotations

import uuid

import pytest

from tests.harness.azurite import HOST, Azurite, azurite_running, process_gone

pytestmark = pytest.mark.integration


def _exercise(azurite: Azurite) -> None:
    name = "h" + uuid.uuid4().hex[:12]
    container = azurite.blob_service().create_container(name)
    container.upload_blob("a/b.json", b'{"ok": true}')
    assert container.download_blob("a/b.json").readall() == b'{"ok": true}'

    queue = azurite.queue_service().create_queue(name)
    queue.send_message("hello")
    assert [m.content for m in queue.receive_messages()] == ["hello"]

    table = azurite.table_service().create_table(name)
    table.create_entity({"PartitionKey": "p", "RowKey": "r", "value": 7})
    assert table.get_entity("p", "r")["value"] == 7


def test_session_fixture_serves_blob_queue_and_table(azurite: Azurite) -> None:
    assert azurite.running
    assert len(set(azurite.ports.values())) == 3
    assert f"http://{HOST}:{azurite.ports['table']}/devstoreaccount1" == azurite.table_endpoint
    _exercise(azurite)


def test_own_instance_stops_and_leaves_no_process() -> None:
    with azurite_running() as azurite:
        pid = azurite.pid
        _exercise(azurite)
        workdir = azurite.workdir
    assert process_gone(pid)
    assert not workdir.exists()
    azurite.stop()  # idempotent


def test_stops_even_when_the_body_fails() -> None:
    pids: list[int] = []

    def fail_inside() -> None:
        with azurite_running() as azurite:
            pids.append(azurite.pid)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert len(pids) == 1
    assert process_gone(pids[0])
