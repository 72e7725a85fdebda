"""The benchmarks' stream client process really holds streams and counts what they carry."""

from __future__ import annotations

import asyncio

from bench.stream_holder import RemoteStreamHolder

TICK = b"event: tick\ndata: {}\n\n"


def test_the_holder_process_holds_every_stream_and_counts_their_events() -> None:
    closed_by_client = 0

    async def stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal closed_by_client
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        try:
            while True:
                writer.write(TICK)
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, OSError):
            closed_by_client += 1
        finally:
            writer.close()

    async def main() -> tuple[int, int, int, int]:
        server = await asyncio.start_server(stream, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        holder = RemoteStreamHolder(port, "/stream", 5)
        async with server:
            opened = await holder.open(settle_timeout=10.0)
            await asyncio.sleep(0.5)
            later = await holder.counts()
            final = await holder.close()
            # The holder closed its connections: each server loop sees its writes fail.
            for _ in range(100):
                if closed_by_client == 5:
                    break
                await asyncio.sleep(0.05)
        return opened.established, later.events - opened.events, final.failed, closed_by_client

    established, events_while_held, failed, closed = asyncio.run(main())
    assert established == 5
    # Five streams, a tick every 50 ms, for half a second: about 50 events.
    assert events_while_held >= 20
    assert failed == 0
    assert closed == 5


def test_a_server_that_refuses_streams_is_reported_not_hidden() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def main() -> tuple[int, int]:
        server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        holder = RemoteStreamHolder(port, "/stream", 3)
        async with server:
            opened = await holder.open(settle_timeout=5.0)
            await holder.close()
        return opened.established, opened.failed

    assert asyncio.run(main()) == (0, 3)
