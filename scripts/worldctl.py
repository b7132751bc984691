#!/usr/bin/python3
"""`scripts/world ctl`: steers a running world (scripts/run-world) through its control socket, one
program at a time. The client half (main) sends one JSON line and prints the reply; the world's half
(Command) runs in the supervisor. docs/reference.md, "World control".

    scripts/world ctl [-c CONFIG | -s SOCKET] status [NAME]
    scripts/world ctl [-c CONFIG | -s SOCKET] stop|start|restart|pause|resume NAME
    scripts/world ctl [-c CONFIG | -s SOCKET] fault NAME FILE|clear

Exit status: 0 done, 1 failed (the reply says why), 2 usage, or no world answers."""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from supervisor import (START_WAIT, control_socket, describe_exit, kv, load_config, log_value,  # noqa: E402
                        parse_faults)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where run-world runs
USAGE = ("usage: scripts/world ctl [-c CONFIG | -s SOCKET] status [NAME] | stop|start|restart|pause|resume NAME"
         " | fault NAME FILE|clear")
ARITY = {"status": (0, 1), "stop": (1, 1), "start": (1, 1), "restart": (1, 1), "pause": (1, 1), "resume": (1, 1),
         "fault": (2, 2)}


class Command:
    """One request, run in the supervisor: (reply lines, exit status)."""

    def __init__(self, sup, request):
        self.sup, self.args, self.file = sup, list(request.get("args", [])), request.get("file")

    def run(self):
        if not self.args or self.args[0] not in ARITY or not (
                ARITY[self.args[0]][0] <= len(self.args) - 1 <= ARITY[self.args[0]][1]):
            return [USAGE], 2
        verb, names = self.args[0], self.args[1:2]
        for name in names:
            if name not in self.sup.programs:
                return [f"failed: no program {name} (the world has {', '.join(self.sup.programs)})"], 2
        if verb == "status":
            return [p.status() for p in self.sup.order if not names or p.name in names], 0
        prog = self.sup.programs[names[0]]
        if verb in ("fault", "pause", "resume") and prog.faults_path is None:
            return [f"failed: {prog.name} takes no fault rules (only fdns and the mail servers do)"], 2
        with self.sup.lock:
            if verb == "fault":
                return self.fault(prog, self.args[2])
            if verb in ("pause", "resume"):
                return self.pause(prog, verb == "pause")
            lines, code = self.stop(prog) if verb in ("stop", "restart") else ([], 0)
            if verb in ("start", "restart") and code == 0:
                more, code = self.start(prog)
                lines += more
            return lines, code

    def stop(self, prog):
        if not prog.running():
            return [f"{prog.name} already stopped"], 0
        prog.ctl_stop = True
        self.sup.terminate([prog])
        self.sup.report(prog)
        return [f"{prog.name} stopped {kv('exit', describe_exit(prog.popen.returncode))}"], 0

    def start(self, prog):
        if prog.running():
            return [f"{prog.name} already running pid={prog.popen.pid}"], 0
        prog.initial = False  # from now on its exit leaves the world running
        try:
            self.sup.start(prog)
        except OSError as e:
            return [f"failed: {prog.name}: {e}"], 1
        if self.sup.wait_listening(prog, START_WAIT):
            return [f"{prog.name} started pid={prog.popen.pid}"], 0
        if prog.popen.poll() is not None:
            self.sup.report(prog)
            return [f"failed: {prog.name} {describe_exit(prog.popen.returncode)} before listening"
                    " (its log lines in the world's output say why)"], 1
        return [f"failed: {prog.name} pid={prog.popen.pid} is not listening after {START_WAIT:g} s"], 1

    def pause(self, prog, on):
        word = "paused" if on else "resumed"
        if prog.paused == on:
            return [f"{prog.name} already {word}"], 0
        prog.paused = on
        return self.apply(prog, word, lambda: setattr(prog, "paused", not on))

    def fault(self, prog, what):
        if what == "clear":
            new = ("", False, None)
        else:
            name, text = self.file["name"], self.file["text"]
            try:
                parse_faults(text, name.endswith(".json"))
            except ValueError as e:
                return [f"failed: {name}: {e}"], 1
            new = (text, name.endswith(".json"), name)
        old = prog.faults
        prog.faults = new
        return self.apply(prog, "faults cleared" if what == "clear" else "faults installed",
                          lambda: setattr(prog, "faults", old))

    def apply(self, prog, word, undo):
        """Writes the program's fault file and has it reload; a rejected file is taken back, so
        the file stays what the program runs with."""
        try:
            prog.write_faults()
        except (OSError, ValueError) as e:
            undo()
            prog.write_faults()
            return [f"failed: {prog.name}: {e}"], 1
        if not prog.running():
            return [f"{prog.name} {word} (stopped: it reads its rules when it starts)"], 0
        ok, line = self.sup.reload_faults(prog)
        if ok:
            return [f"{prog.name} {word} faults_loaded {kv('rules', log_value(line, 'rules'))}"], 0
        _, is_json, shown = prog.faults
        if shown and not prog.paused and not is_json:  # the copy holds the user's lines as written
            line = line.replace(prog.faults_path, shown)
        undo()
        prog.write_faults()
        return [f"failed: {prog.name} {line}"], 1


def main(argv):
    sock_path, config, rest = None, None, list(argv)
    while rest and rest[0] in ("-c", "-s") and len(rest) > 1:
        if rest[0] == "-c":
            config = rest[1]
        else:
            sock_path = rest[1]
        rest = rest[2:]
    if not rest or rest[0] not in ARITY or not ARITY[rest[0]][0] <= len(rest) - 1 <= ARITY[rest[0]][1] or (
            config and sock_path):
        print(USAGE, file=sys.stderr)
        return 2
    request = {"args": rest}
    if rest[0] == "fault" and rest[2] != "clear":
        try:
            with open(rest[2], encoding="utf-8") as f:
                request["file"] = {"name": rest[2], "text": f.read()}
        except (OSError, UnicodeDecodeError) as e:
            print(f"failed: {rest[2]}: {e}", file=sys.stderr)
            return 1
    if not sock_path:
        try:
            sock_path = control_socket(load_config(config or os.path.join(ROOT, "config", "config.toml")), ROOT)
        except (OSError, ValueError) as e:
            print(f"world ctl: {e}", file=sys.stderr)
            return 2
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2 * START_WAIT + 10)  # restart: a stop, then a start
            try:
                s.connect(sock_path)
            except OSError as e:
                print(f"world ctl: no world running ({sock_path}: {e.strerror or e})", file=sys.stderr)
                return 2
            s.sendall(json.dumps(request).encode() + b"\n")
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
    except OSError as e:
        print(f"world ctl: {sock_path}: {e}", file=sys.stderr)
        return 1
    lines = reply.decode(errors="replace").splitlines()
    if not lines or not lines[-1].startswith("exit="):
        print("world ctl: the world closed the connection without an answer", file=sys.stderr)
        return 1
    for line in lines[:-1]:
        print(line)  # failures too: one place to grep
    return int(lines[-1][5:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
