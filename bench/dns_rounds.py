"""How many resolver round trips a full deliverability check takes: good.test (MX, SPF with one
include, DKIM selector, DMARC, MTA-STS, TLS-RPT) plus a sending IP in 3 DNSBL zones, through a
UDP proxy that delays each packet by RTT/2 each way in front of the test dnsmasq.

    python bench/dns_rounds.py [RTT_MS] [RUNS]   prints each run's time and the median in RTTs
"""

import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "servers"))
from dns_server import DnsServer  # noqa: E402

import polymailer  # noqa: E402
from harness import certs  # noqa: E402


class DelayProxy(asyncio.DatagramProtocol):
    """Client -> (delay) -> dnsmasq -> (delay) -> client; one upstream socket per client port."""

    def __init__(self, upstream, delay):
        self.upstream, self.delay, self.clients = upstream, delay, {}

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        loop = asyncio.get_running_loop()
        loop.call_later(self.delay, lambda: asyncio.ensure_future(self.forward(data, addr)))

    async def forward(self, data, addr):
        loop = asyncio.get_running_loop()
        if addr not in self.clients:
            proxy = self

            class Back(asyncio.DatagramProtocol):
                def datagram_received(self, reply, _):
                    loop.call_later(proxy.delay, proxy.transport.sendto, reply, addr)

            self.clients[addr], _ = await loop.create_datagram_endpoint(Back, remote_addr=self.upstream)
        self.clients[addr].sendto(data)


async def main(rtt_ms, runs):
    with DnsServer(certs()) as dns:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DelayProxy(("127.0.0.1", dns.port), rtt_ms / 2000), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        options = dict(
            nameserver="127.0.0.1:%d" % port,
            timeout=5,
            selector="s1",
            ip="192.0.2.10",
            dnsbl=["bl.test", "blocked.test", "nothing.test"],
        )
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            report = await polymailer.check_domain_async("good.test", **options)
            times.append((time.perf_counter() - started) * 1000)
            assert len(report.findings) == 13, report
        med = statistics.median(times)
        print("runs (ms): " + " ".join("%.0f" % t for t in times))
        print(
            "dns check, %d ms RTT, %d findings: median %.0f ms = %.2f round trips"
            % (rtt_ms, len(report.findings), med, med / rtt_ms)
        )
        transport.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, int(sys.argv[2]) if len(sys.argv) > 2 else 7))
