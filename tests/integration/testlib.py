# SPDX-License-Identifier: MIT OR Apache-2.0
"""Helpers shared by the integration tests."""

import time


def wait_for(what, predicate, timeout=30, interval=0.1):
    """Polls predicate until it returns something true, and returns that; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
