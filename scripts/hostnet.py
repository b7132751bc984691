"""Hosts on their own addresses: one Linux network namespace per host, joined by a bridge.

Used by scripts/run-hosts (the world of config/hosts.toml) and by tests/e2e/test_hosts.py.

    net = HostNet(prefix="mw")           # names: bridge mw-br, namespaces mw-<host>
    net.add("fdns", "198.18.0.2", dns="198.18.0.2")
    net.up()                             # bridge + one veth per host; /etc/netns/<ns>/resolv.conf
    net.run("fdns", ["fdns", ...])       # argv prefixed with `ip netns exec <ns>`
    net.down()                           # removes every namespace, link and resolv.conf it made

The bridge holds 198.18.0.1/24 in the root namespace, so programs there (the agent, a test) reach
every host.  Addresses come from 198.18.0.0/24 (RFC 2544's benchmark range) and nothing else: the
hosts cannot reach beyond the bridge (no default route), so no traffic leaves the machine.
"""
import ipaddress
import os
import shutil
import signal
import subprocess

NETWORK = ipaddress.ip_network("198.18.0.0/24")
BRIDGE_IP = "198.18.0.1"


class NetError(Exception):
    """One line saying what could not be done."""


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise NetError(f"ip {' '.join(args)}: {r.stderr.strip() or 'failed'}")
    return r


def can_make_namespaces():
    """None when namespaces can be made here, else the reason (one line)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"mw-probe-{os.getpid()}"
    r = _ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return f"cannot make a network namespace: {r.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _remove_namespace(name):
    # A process left in the namespace (a daemon that forked) would keep it alive unnamed.
    for pid in _ip("netns", "pids", name, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    _ip("netns", "del", name, check=False)


def remove_stale(prefixes):
    """Removes the namespaces, links and /etc/netns folders whose names start with one of `prefixes`:
    what a run killed before its clean-up (a test's timeout) left behind. Only for prefixes nobody
    else uses."""
    prefixes = tuple(prefixes)
    for line in _ip("netns", "list", check=False).stdout.split("\n"):
        name = line.split(" ")[0]
        if name.startswith(prefixes):
            _remove_namespace(name)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
    for line in _ip("-o", "link", "show", check=False).stdout.split("\n"):
        parts = line.split(": ")
        if len(parts) > 1 and parts[1].split("@")[0].startswith(prefixes):
            _ip("link", "del", parts[1].split("@")[0], check=False)


class HostNet:
    def __init__(self, prefix="mw"):
        self.prefix = prefix
        self.bridge = f"{prefix}-br"[:15]
        self.hosts = {}      # host -> (namespace, address, dns server address)
        self.made = []       # what up() made, undone by down() in reverse

    def ns(self, host):
        return self.hosts[host][0]

    def add(self, host, address, dns):
        addr = ipaddress.ip_address(address)
        if addr not in NETWORK or str(addr) in (BRIDGE_IP, str(NETWORK.network_address), str(NETWORK.broadcast_address)):
            raise NetError(f"{host}: address {address} is not a host address of {NETWORK} other than {BRIDGE_IP}")
        if any(a == address for _, a, _ in self.hosts.values()):
            raise NetError(f"{host}: address {address} is used by another host")
        self.hosts[host] = (f"{self.prefix}-{host}", address, dns)

    def up(self):
        try:
            self._up()
        except Exception:
            self.down()
            raise

    def _up(self):
        if _ip("link", "show", self.bridge, check=False).returncode == 0:
            raise NetError(f"link {self.bridge} exists already: another world of hosts is running (or left over: "
                           f"ip link del {self.bridge})")
        # Any route to these addresses but the default one: another world of hosts, or a real network
        # that the bridge would hide.
        used = [r.strip() for r in _ip("route", "show", "to", "match", BRIDGE_IP, check=False).stdout.split("\n")
                if r.strip() and not r.startswith("default")]
        if used:
            raise NetError(f"{NETWORK} is routed already ({used[0]}): another world of hosts, or a real network")
        _ip("link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        _ip("addr", "add", f"{BRIDGE_IP}/{NETWORK.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, (host, (ns, address, dns)) in enumerate(self.hosts.items()):
            _ip("netns", "add", ns)
            self.made.append(("netns", ns))
            if os.path.exists(f"/etc/netns/{ns}"):
                raise NetError(f"/etc/netns/{ns} exists already (another world with prefix {self.prefix}?)")
            os.makedirs(f"/etc/netns/{ns}")
            self.made.append(("etc", f"/etc/netns/{ns}"))
            with open(f"/etc/netns/{ns}/resolv.conf", "w") as f:
                f.write(f"# made by mailworld's scripts/hostnet.py for host {host}\nnameserver {dns}\n"
                        "options timeout:1 attempts:2\n")
            outer, inner = f"{self.prefix}v{i}"[:15], f"{self.prefix}p{i}"[:15]
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            self.made.append(("link", outer))
            _ip("link", "set", inner, "netns", ns)
            _ip("link", "set", outer, "master", self.bridge)
            _ip("link", "set", outer, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", inner, "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{address}/{NETWORK.prefixlen}", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def down(self):
        """Removes what up() made (namespaces also take their veth peers); never raises."""
        for kind, name in reversed(self.made):
            if kind == "netns":
                _remove_namespace(name)
            elif kind == "link":
                _ip("link", "del", name, check=False)
            elif kind == "etc":
                shutil.rmtree(name, ignore_errors=True)
        self.made = []

    def argv(self, host, argv):
        """The command line running argv inside host's namespace (with its resolv.conf)."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def leftovers(self):
        """What of ours still exists (for tests): namespace names and link names."""
        names = set(_ip("netns", "list", check=False).stdout.split())
        links = _ip("-o", "link", "show", check=False).stdout
        out = [ns for ns, _, _ in self.hosts.values() if ns in names]
        out += [l for l in [self.bridge] if f" {l}:" in links or f" {l}@" in links]
        out += [f"/etc/netns/{ns}" for ns, _, _ in self.hosts.values() if os.path.exists(f"/etc/netns/{ns}")]
        return out
