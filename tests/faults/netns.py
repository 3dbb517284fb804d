"""Test hosts in network namespaces (`ip netns`): each namespace is one host with its own
address, joined to this machine's namespace by a veth pair, so that a test can take one host
off the network (`ip link set ... down` on the host side: a cable pulled, a switch port dead)
and bring it back. Names are unique per test run (parallel runs never clash) and everything is
removed at the end, also when the test fails.

Addresses: one /30 per host in 198.18.0.0/15 (RFC 2544's range for test networks), the
third octet picked at random among those unused on this machine; they exist only inside this
machine, between its namespaces."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass

import pytest


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def available() -> str:
    """Why no namespace can be made here ("" when one can): tried, not guessed."""
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"outdial-probe-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is not permitted here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return ""


def need_netns() -> None:
    why = available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must be able to make network namespaces: {why}")
        pytest.skip(why)


@dataclass
class NetHost:
    """One namespace: `address` inside it, `gateway` this machine's end of its link."""

    name: str
    link: str  # the host-side veth
    address: str
    gateway: str

    def exec(self, *cmd: str) -> list[str]:
        """A command line that runs `cmd` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def cut(self) -> None:
        _ip("link", "set", self.link, "down")

    def restore(self) -> None:
        _ip("link", "set", self.link, "up")


class NetHosts:
    def __init__(self, count: int) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.hosts: list[NetHost] = []
        used = _ip("-4", "-o", "addr").stdout
        free = [n for n in range(256) if f"198.18.{n}." not in used]
        octet = random.choice(free)
        try:
            for n in range(count):
                self.hosts.append(self._make(n, f"198.18.{octet}.{4 * n + 1}",
                                             f"198.18.{octet}.{4 * n + 2}"))  # fmt: skip
        except BaseException:
            self.remove()
            raise

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(f"{h.address}/32" for h in self.hosts)

    def _make(self, n: int, gateway: str, address: str) -> NetHost:
        name, link, inner = f"outdial-{self.tag}-{n}", f"od{self.tag}{n}h", f"od{self.tag}{n}n"
        host = NetHost(name, link, address, gateway)
        self.hosts.append(host)  # removed at the end whatever happens next
        _ip("netns", "add", name)
        _ip("link", "add", link, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", name)
        _ip("addr", "add", f"{gateway}/30", "dev", link)
        _ip("link", "set", link, "up")
        _ip("-n", name, "addr", "add", f"{address}/30", "dev", inner)
        _ip("-n", name, "link", "set", inner, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        self.hosts.pop()
        return host

    def remove(self) -> None:
        for host in self.hosts:
            _ip("link", "del", host.link, check=False)  # takes its peer along
            _ip("netns", "del", host.name, check=False)
        self.hosts = []
