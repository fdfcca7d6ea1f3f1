#!/usr/bin/env python3
"""Times N framed TCP joins into a fresh `chat server --mode hub`, all under one name and then
under N distinct names, and reports each run's wall time and the hub's CPU time.

A hub that finds a free name by trying `x#2`, `x#3`, ... against a list pays for every collision;
the two runs side by side show whether one shared name costs more than N different ones.

  scripts/join_storm.py [--chat build/chat] [-n 2500]
"""
import argparse
import os
import re
import selectors
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wire_layout():
    """Reads the frame version and header size from the source, so the probe follows the wire."""
    text = open(os.path.join(ROOT, "src/wire/frame.h"), encoding="utf-8").read()
    version = int(re.search(r"kWireVersion = (\d+)", text).group(1))
    header = int(re.search(r"kHeaderSize = (\d+)", text).group(1))
    return version, header


def join_frame(version, header, nick):
    payload = nick.encode()
    fixed = struct.pack(">BBBBIIQ", 0xF7, 0x43, version, 3, 0, 0, time.monotonic_ns())
    if header == 32:
        fixed += struct.pack(">Q", 0)  # token: unused on TCP
    return fixed + struct.pack(">I", len(payload)) + payload


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_hub(chat):
    proc = subprocess.Popen(
        [chat, "server", "--mode", "hub", "--port", "0", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.search(r"(?:127\.0\.0\.1|\[::\]|0\.0\.0\.0|localhost):(\d+)", line or "")
        if found:
            return proc, int(found.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    sys.exit("join_storm: the hub did not say which port it took")


def storm(chat, count, same_name):
    version, header = wire_layout()
    proc, port = start_hub(chat)
    socks = []
    try:
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        sel = selectors.DefaultSelector()
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(join_frame(version, header, "x" if same_name else f"x{i}"))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        # A member is in once its WELCOME (or anything after it) has arrived.
        pending = set(socks)
        welcomed = 0
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                # Byte 3 of the first frame is its type: 4 is WELCOME (5 would be REFUSE).
                if data and key.fileobj in pending:
                    pending.discard(key.fileobj)
                    if len(data) > 3 and data[3] == 4:
                        welcomed += 1
        wall = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        return wall, cpu, welcomed
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chat", default=os.path.join(ROOT, "build/chat"))
    ap.add_argument("-n", type=int, default=2500)
    args = ap.parse_args()
    for same in (True, False):
        wall, cpu, joined = storm(args.chat, args.n, same)
        label = "one name 'x'" if same else "distinct names"
        print(f"{args.n} joins, {label:15}: {joined} welcomed in {wall * 1000:8.1f} ms, "
              f"hub CPU {cpu * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
