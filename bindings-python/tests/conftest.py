import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))

import harness  # noqa: E402


@pytest.fixture(scope="session")
def certs():
    return harness.certs()


@pytest.fixture
def ca_context(certs):
    import ssl

    return ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))


@pytest.fixture
def capture():
    """Starts a capture server with the given arguments; stopped after the test."""
    servers = []

    def start(*args):
        s = harness.CaptureServer(args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def sink():
    servers = []

    def start(*args):
        s = harness.SmtpSink(args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def pytest_terminal_summary(terminalreporter):
    """The corpus line every language's runner prints: `scenarios: N passed, M failed`."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            if "test_scenarios.py" in getattr(report, "nodeid", "") and report.when in ("call", "setup"):
                if outcome != "passed" or report.when == "call":
                    counts[outcome] += 1
    if sum(counts.values()):
        terminalreporter.write_line(
            "scenarios: %d passed, %d failed, %d skipped" % (counts["passed"], counts["failed"], counts["skipped"])
        )
