#!/usr/bin/python3
"""Renders `chat bench` results (JSON, schema chat-bench-results v1) into a Markdown report with
PNG plots. Called by `chat report`; run with Debian's /usr/bin/python3 so python3-matplotlib is the
one imported. Every plot is always written (with a "no data" note when the results lack that
scenario) so a report directory always has the same files.

usage: render.py OUT_DIR RESULTS.json [RESULTS.json ...]
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402

SCHEMA = "chat-bench-results"
MAX_VERSION = 1
PLOTS = {
    "rtt": "rtt_percentiles.png",
    "stream": "throughput.png",
    "rate": "udp_loss_vs_rate.png",
    "fanout": "fanout.png",
}
STYLE = {"tcp": dict(color="tab:blue"), "udp": dict(color="tab:orange")}


def load(paths):
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("schema") != SCHEMA:
            raise SystemExit(f"{path}: not a chat bench results document")
        if not 1 <= int(doc.get("schema_version", 0)) <= MAX_VERSION:
            raise SystemExit(f"{path}: schema version {doc.get('schema_version')} is unknown")
        docs.append(doc)
    return docs


def runs_of(docs, scenario, tool=None):
    out = []
    for doc in docs:
        for run in doc.get("runs", []):
            if run.get("scenario") == scenario and (tool is None or run.get("tool") == tool):
                out.append(run)
    return out


def num(d, key, default=None):
    v = d.get(key, default)
    return v if isinstance(v, (int, float)) else default


def no_data(ax, what):
    ax.text(0.5, 0.5, f"no {what} results in these files", ha="center", va="center",
            transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)


def plot_rtt(docs, out_dir):
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    runs = [r for r in runs_of(docs, "rtt") if num(r["metrics"], "p50_us") is not None]
    if not runs:
        no_data(ax, "rtt")
    for tool in sorted({r["tool"] for r in runs}):
        for wire in ("tcp", "udp"):
            pts = sorted(((r["params"]["size"], r["metrics"]) for r in runs
                          if r["tool"] == tool and r["transport"] == wire and "size" in r["params"]),
                         key=lambda p: p[0])
            if not pts:
                continue
            sizes = [p[0] for p in pts]
            for key, style, label in (("p50_us", "-o", "p50"), ("p99_us", "--s", "p99"),
                                      ("p999_us", ":^", "p99.9")):
                ys = [num(p[1], key, float("nan")) for p in pts]
                marker = style if tool == "chat" else style[-1]
                ax.plot(sizes, ys, marker, label=f"{tool} {wire} {label}",
                        alpha=1.0 if tool == "chat" else 0.6, mfc="none" if tool != "chat" else None,
                        **STYLE.get(wire, {}))
    if runs:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel("round-trip latency (µs)")
        ax.set_title("Round trip through an echo server (loopback)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    save(fig, out_dir, PLOTS["rtt"])


def plot_stream(docs, out_dir):
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    runs = [r for r in runs_of(docs, "stream") if num(r["metrics"], "recv_mbps") is not None]
    if not runs:
        no_data(ax, "stream")
    for tool in sorted({r["tool"] for r in runs}):
        for wire in ("tcp", "udp"):
            pts = sorted((r["params"].get("size", 0), r["metrics"]["recv_mbps"],
                          num(r["metrics"], "send_mbps", float("nan"))) for r in runs
                         if r["tool"] == tool and r["transport"] == wire)
            if not pts:
                continue
            xs = [p[0] for p in pts]
            if tool == "chat":
                ax.plot(xs, [p[1] for p in pts], "-o", label=f"chat {wire} received",
                        **STYLE.get(wire, {}))
                ax.plot(xs, [p[2] for p in pts], ":", label=f"chat {wire} sent", alpha=0.5,
                        **STYLE.get(wire, {}))
            else:
                ax.plot(xs, [p[1] for p in pts], "D", mfc="none", markersize=9,
                        label=f"{tool} {wire} received", **STYLE.get(wire, {}))
    if runs:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel("goodput (Mbit/s)")
        ax.set_title("One-way throughput, unlimited rate (loopback)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, out_dir, PLOTS["stream"])


def plot_rate(docs, out_dir):
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    trials = runs_of(docs, "rate_trial")
    if not trials:
        no_data(ax, "rate")
    sizes = sorted({t["params"].get("size", 0) for t in trials})
    for size in sizes:
        pts = sorted((num(t["metrics"], "offered_mbps", 0), num(t["metrics"], "loss_pct", 0))
                     for t in trials if t["params"].get("size", 0) == size)
        ax.plot([p[0] for p in pts], [max(p[1], 1e-4) for p in pts], "o-", label=f"{size} B")
    for r in runs_of(docs, "rate"):
        thr = num(r["params"], "threshold_pct")
        if thr is not None:
            ax.axhline(thr, color="red", linestyle="--", linewidth=1)
        best = num(r["metrics"], "best_offered_mbps")
        if best:
            ax.axvline(best, color="green", linestyle=":", linewidth=1)
    if trials:
        ax.set_yscale("log")
        ax.set_xlabel("offered rate (Mbit/s of payload)")
        ax.set_ylabel("loss (%)  [0 drawn at 1e-4]")
        ax.set_title("UDP loss vs offered rate (binary search, RFC 2544 style)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, title="message size")
    save(fig, out_dir, PLOTS["rate"])


def plot_fanout(docs, out_dir):
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    runs = [r for r in runs_of(docs, "fanout") if num(r["metrics"], "deliveries_per_s")]
    if not runs:
        no_data(ax, "fanout")
    series = sorted({(r["tool"], r["transport"], bool(r["params"].get("text"))) for r in runs})
    for tool, wire, text in series:
        pts = sorted(((r["params"]["clients"], r["metrics"]["deliveries_per_s"]) for r in runs
                     if (r["tool"], r["transport"], bool(r["params"].get("text"))) ==
                     (tool, wire, text)), key=lambda p: p[0])
        label = f"{tool} hub, {wire}" + (" text clients" if text else "")
        style = "-o" if tool == "chat" and not text else "--D"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label,
                **(STYLE.get(wire, {}) if tool == "chat" and not text else {}))
    if runs:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("clients in the hub")
        ax.set_ylabel("deliveries per second")
        ax.set_title("Hub fan-out")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, out_dir, PLOTS["fanout"])


def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 0.01):
            return f"{v:.3g}"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |"
            for row in rows]
    return "\n".join(out)


def section_rows(docs, scenario, cols, key_params):
    rows = []
    for r in runs_of(docs, scenario):
        p, m = r["params"], r["metrics"]
        rows.append([r["tool"], r["transport"]] + [p.get(k) for k in key_params] +
                    [m.get(k) for k in cols] + [r.get("note", "")])
    return rows


def render(out_dir, paths):
    docs = load(paths)
    os.makedirs(out_dir, exist_ok=True)
    plot_rtt(docs, out_dir)
    plot_stream(docs, out_dir)
    plot_rate(docs, out_dir)
    plot_fanout(docs, out_dir)

    md = ["# TCP vs UDP on this machine — `chat bench` report", ""]
    machines = {json.dumps(d.get("machine", {}), sort_keys=True): d for d in docs}
    for d in machines.values():
        m = d.get("machine", {})
        md += [f"Measured on **{m.get('hostname', '?')}**: {m.get('cpu_model', '?')}, "
               f"{m.get('cores', '?')} cores, {m.get('kernel', '?')}; socket buffers "
               f"rmem_max {fmt(m.get('rmem_max'))} B, wmem_max {fmt(m.get('wmem_max'))} B, "
               f"rmem_default {fmt(m.get('rmem_default'))} B.", ""]
    md += ["Runs: " + "; ".join(f"`{d.get('command', '?')}` at {d.get('created', '?')}"
                                + (f" (profile {d['profile']})" if d.get("profile") else "")
                                for d in docs), ""]
    md += ["Every number comes from traffic on loopback through the same Transport seam the chat "
           "uses; servers run as separate `chat server` processes, like sockperf's and iperf3's. "
           "Latency percentiles come from a log-linear histogram whose relative error is at most "
           "0.4 %.", ""]

    md += ["## Round-trip latency (rtt)", "", f"![RTT percentiles vs size]({PLOTS['rtt']})", ""]
    md += [table(["tool", "wire", "size B", "samples", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs",
                  "max µs", "lost", "note"],
                 section_rows(docs, "rtt", ["samples", "p50_us", "p90_us", "p99_us", "p999_us",
                                            "max_us", "lost"], ["size"])), ""]

    md += ["## One-way throughput (stream)", "", f"![Throughput vs size]({PLOTS['stream']})", ""]
    md += [table(["tool", "wire", "size B", "target msg/s", "sent Mbit/s", "received Mbit/s",
                  "received msg/s", "loss %", "dup", "reord", "jitter µs", "retrans", "note"],
                 section_rows(docs, "stream", ["send_mbps", "recv_mbps", "recv_mps", "loss_pct",
                                               "duplicates", "reordered", "jitter_us",
                                               "retransmits"], ["size", "rate_mps"])), ""]

    md += ["## Highest loss-free UDP rate (rate)", "", f"![UDP loss vs offered rate]({PLOTS['rate']})",
           ""]
    md += [table(["tool", "wire", "size B", "threshold %", "best msg/s", "offered Mbit/s",
                  "goodput Mbit/s", "loss %", "trials", "note"],
                 section_rows(docs, "rate", ["best_rate_mps", "best_offered_mbps", "goodput_mbps",
                                             "loss_pct", "trials"], ["size", "threshold_pct"])),
           ""]

    md += ["## Hub fan-out (fanout)", "", f"![Fan-out deliveries/s vs clients]({PLOTS['fanout']})",
           ""]
    md += [table(["hub", "wire", "clients", "msgs each", "text", "deliveries/s", "expected",
                  "seen", "p50 µs", "p99 µs", "order errors", "note"],
                 section_rows(docs, "fanout", ["deliveries_per_s", "expected", "seen", "p50_us",
                                               "p99_us", "out_of_order"],
                              ["clients", "messages", "text"])), ""]

    md += ["## Anchor ratios (compare)", ""]
    ratios = runs_of(docs, "ratio")
    if ratios:
        rows = []
        for r in ratios:
            p, m = r["params"], r["metrics"]
            met = m.get("met")
            rows.append([p.get("what", "?"), r["transport"], fmt(m.get("chat"), 2),
                         f"{fmt(m.get('anchor'), 2)} ({r['tool']})", fmt(m.get("ratio"), 3),
                         p.get("target", "—"), "yes" if met else ("no" if met is False else "—"),
                         r.get("note", "")])
        md += ["Ratios are chat ÷ anchor from the same run, scenarios interleaved.", ""]
        md += [table(["measure", "wire", "chat", "anchor", "ratio", "target", "met", "note"], rows),
               ""]
    else:
        md += ["No `chat bench compare` results in these files.", ""]

    notes = [r for d in docs for r in d.get("runs", []) if r.get("note")]
    if notes:
        md += ["## Notes", ""]
        md += [f"- {r['scenario']} / {r['tool']} / {r['transport']}: {r['note']}" for r in notes]
        md += [""]

    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    print(os.path.join(out_dir, "report.md"))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    render(sys.argv[1], sys.argv[2:])
