#!/usr/bin/python3
"""Renders `chat bench` results (JSON, schema chat-bench-results v1 or v2) into a Markdown report
with PNG plots. Called by `chat report`; run with Debian's /usr/bin/python3 so python3-matplotlib is
the one imported. A scenario the results do not carry gets no section, no plot and no sentence:
the report says only what its data shows.

Records the compare phase wrote (v2: "phase": "compare"; v1: inferred, see mark_v1_compare) are
single points interleaved with an anchor tool, so they are kept out of the scenario plots and
tables and get their own section.

`chat demo q1|q2|q3` documents (schema chat-demo-results) given on the command line, or found as
q1.json, q2.json, q3.json beside a bench results file, become the chapter "The thinking questions,
measured"; given alone, they make a report of that chapter only.

usage: render.py OUT_DIR RESULTS.json [RESULTS.json ...]
"""
import json
import math
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402
import render_sweep  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

SCHEMA = "chat-bench-results"
MAX_VERSION = 2
COMPARE = "compare"
PLOTS = {
    "rtt": "rtt_percentiles.png",
    "stream": "throughput.png",
    "rate": "udp_loss_vs_rate.png",
    "fanout": "fanout.png",
    "compare": "compare.png",
}
STYLE = {"tcp": dict(color="tab:blue"), "udp": dict(color="tab:orange"),
         "enet": dict(color="tab:green")}
# The wires plotted and summarised, in the order the transport factory lists them.
WIRES = ("tcp", "udp", "enet")


def wire_label(wire):
    """How prose and legends spell a wire: TCP, UDP, ENet."""
    return {"enet": "ENet"}.get(wire, wire.upper())


ANCHOR_COLOR = "tab:gray"
UNITS = {"p50_us": "µs", "p99_us": "µs", "recv_mbps": "Mbit/s",
         "deliveries_per_s": "deliveries/s"}


# ---- loading -------------------------------------------------------------------------------------

def mark_v1_compare(runs):
    """Version 1 had no phase field. Compare always writes its records last and starts with a chat
    run directly followed by its anchor (or the ratio records when every anchor is skipped), and no
    scenario writes anchor or ratio records; so the compare block is the tail from the first
    anchor/ratio record, or from the chat record just before it when that one measured the same
    scenario. bench/results.cpp applies the same rule."""
    first = next((i for i, r in enumerate(runs)
                  if r.get("tool", "chat") != "chat" or r.get("scenario") == "ratio"), None)
    if first is None:
        return
    if first > 0 and runs[first - 1].get("tool", "chat") == "chat" and \
            runs[first - 1].get("scenario") == runs[first].get("scenario"):
        first -= 1
    for r in runs[first:]:
        r["phase"] = COMPARE


def load(paths):
    docs = []
    for path in paths:
        if is_demo_file(path):
            continue
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("schema") != SCHEMA:
            raise SystemExit(f"{path}: not a chat bench results document")
        version = int(doc.get("schema_version", 0))
        if not 1 <= version <= MAX_VERSION:
            raise SystemExit(f"{path}: schema version {doc.get('schema_version')} is unknown")
        for r in doc.get("runs", []):
            r.setdefault("tool", "chat")
            r.setdefault("params", {})
            r.setdefault("metrics", {})
        if version == 1:
            mark_v1_compare(doc.get("runs", []))
        docs.append(doc)
    return docs


def is_compare(run):
    return run.get("phase") == COMPARE


def sweep(docs, scenario):
    """The scenario's own records, never compare's."""
    return [r for d in docs for r in d.get("runs", [])
            if r.get("scenario") == scenario and not is_compare(r)]


def compare_runs(docs, scenario=None):
    return [r for d in docs for r in d.get("runs", [])
            if is_compare(r) and (scenario is None or r.get("scenario") == scenario)]


def num(d, key, default=None):
    v = d.get(key, default)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else default


def grouped(points):
    """(x, y) pairs -> sorted xs and the median y per x: several merged files give one line
    through the middle instead of a zigzag."""
    by_x = {}
    for x, y in points:
        if y is not None and not (isinstance(y, float) and math.isnan(y)):
            by_x.setdefault(x, []).append(y)
    xs = sorted(by_x)
    return xs, [statistics.median(by_x[x]) for x in xs], by_x


# ---- number words --------------------------------------------------------------------------------

def size_label(n):
    """One unit style everywhere: bytes with thousands separators (16, 1,024, 65,000, 131,072)."""
    return f"{int(n):,}"


def size_words(n):
    return size_label(n) + " B"


def sizes_words(sizes):
    """'16 B, 64 B and 1,024 B'."""
    return and_words(size_words(x) for x in sorted(sizes))


def nice_ticks(lo, hi):
    """Round values spread across [lo, hi] for a log axis, so it is labelled where the data lies
    (not only at 50 and 100 when everything sits between 50 and 230)."""
    marks = []
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)):
        marks = sorted({m * 10 ** k for k in range(math.floor(math.log10(lo)) - 1,
                                                    math.ceil(math.log10(hi)) + 1)
                        for m in mantissas if lo <= m * 10 ** k <= hi})
        if len(marks) >= 4:
            break
    if len(marks) > 8:
        marks = marks[::math.ceil(len(marks) / 8)]
    return marks


def rate_label(mbps):
    if mbps >= 1000:
        v = mbps / 1000
        return f"{v:.3g} Gbit/s" if v < 100 else f"{v:,.0f} Gbit/s"
    return f"{mbps:.3g} Mbit/s" if mbps < 100 else f"{mbps:,.0f} Mbit/s"


def count_label(v):
    if v >= 1e6:
        return f"{v / 1e6:.3g} M"
    if v >= 1e3:
        return f"{v / 1e3:.3g} k"
    return f"{v:.3g}"


def us_label(v):
    if v >= 1e6:
        return f"{v / 1e6:.3g} s"
    if v >= 1e4:
        return f"{v / 1e3:,.0f} ms"
    return f"{v:,.0f} µs" if v >= 1000 else f"{v:.1f} µs"


def and_words(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def value_words(v, unit):
    if unit == "Mbit/s":
        return rate_label(v)
    if unit == "µs":
        return us_label(v)
    return f"{count_label(v)} {unit}".strip()


def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 0.01):
            return f"{v:.3g}"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


# ---- plot helpers --------------------------------------------------------------------------------

def no_data(ax, what):
    ax.text(0.5, 0.5, f"no {what} results in these files", ha="center", va="center",
            transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def size_axis(ax, sizes):
    """Log-2 x axis with a tick at each measured size, labelled in bytes rather than 2^n."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(sizes)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: size_label(x)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("message size (bytes)")
    sizes = sorted(sizes)
    ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
    # Neighbours closer than 3x would print over each other (65,000 next to 128 KiB).
    if any(b / a < 3 for a, b in zip(sizes, sizes[1:])):
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")


def legend_outside(ax, **kw):
    """Beside the axes, so it never hides a point."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, **kw)


def save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)


# ---- scenario plots (sweep records only) ---------------------------------------------------------

def plot_rtt(docs, out_dir):
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    runs = [r for r in sweep(docs, "rtt")
            if num(r["metrics"], "p50_us") is not None and "size" in r["params"]]
    if not runs:
        no_data(ax, "rtt")
    for tool in sorted({r["tool"] for r in runs}):
        for wire in WIRES:
            mine = [r for r in runs if r["tool"] == tool and r["transport"] == wire]
            if not mine:
                continue
            for key, style, label in (("p50_us", "-o", "median (p50)"), ("p99_us", "--s", "p99"),
                                      ("p999_us", ":^", "p99.9")):
                xs, ys, _ = grouped((r["params"]["size"], num(r["metrics"], key)) for r in mine)
                if xs:
                    who = wire_label(wire) if tool == "chat" else f"{tool} {wire_label(wire)}"
                    ax.plot(xs, ys, style, label=f"{who} {label}", **STYLE.get(wire, {}))
    if runs:
        size_axis(ax, {r["params"]["size"] for r in runs})
        ax.set_yscale("log")
        drawn = [y for line in ax.get_lines() for y in line.get_ydata() if y and y > 0]
        lo, hi = min(drawn), max(drawn)
        ax.set_ylim(lo / 1.15, hi * 1.15)
        ax.yaxis.set_major_locator(FixedLocator(nice_ticks(lo / 1.15, hi * 1.15)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.4g}"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylabel("round-trip time (µs)")
        ax.set_title("Round trip through an echo server vs message size — lower is better")
        ax.grid(True, which="both", alpha=0.3)
        legend_outside(ax)
    save(fig, out_dir, PLOTS["rtt"])


def plot_stream(docs, out_dir):
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    runs = [r for r in sweep(docs, "stream") if num(r["params"], "size") is not None]
    measured = [r for r in runs if num(r["metrics"], "recv_mbps")]
    if not measured:
        no_data(ax, "stream")
    for wire in WIRES:
        mine = [r for r in measured if r["transport"] == wire]
        if not mine:
            continue
        xs, ys, _ = grouped((r["params"]["size"], r["metrics"]["recv_mbps"]) for r in mine)
        ax.plot(xs, ys, "-o", label=f"{wire_label(wire)} received (goodput)", **STYLE.get(wire, {}))
        sx, sy, _ = grouped((r["params"]["size"], num(r["metrics"], "send_mbps")) for r in mine)
        ax.plot(sx, sy, ":", label=f"{wire_label(wire)} sent", alpha=0.6, **STYLE.get(wire, {}))
        # Name the loss where it happened: the gap between sent and received is what UDP dropped.
        for r in mine:
            loss = num(r["metrics"], "loss_pct")
            if wire == "udp" and loss and loss > 0:
                ax.annotate(f"{loss:.1f} % lost", (r["params"]["size"], r["metrics"]["recv_mbps"]),
                            textcoords="offset points", xytext=(6, -14), fontsize=8,
                            color=STYLE[wire]["color"])
    if measured:
        size_axis(ax, {r["params"]["size"] for r in runs})
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: rate_label(y)))
        # A label at each 3x too, so the top points (tens of Gbit/s) can be read off the axis.
        ax.yaxis.set_minor_formatter(FuncFormatter(
            lambda y, _: rate_label(y) if str(int(round(y)))[0] == "3" else ""))
        ax.tick_params(axis="y", which="minor", labelsize=8)
        ax.set_ylabel("goodput (payload bits per second)")
        ax.set_title("One-way goodput at unlimited rate vs message size — higher is better")
        ax.grid(True, which="both", alpha=0.3)
        # Sizes UDP cannot carry at all are a result too: say so on the axis.
        for r in runs:
            if r["transport"] == "udp" and not num(r["metrics"], "recv_mbps"):
                ax.annotate("UDP: too big for\none datagram" if r["params"]["size"] > 65507
                            else "UDP: no result", (r["params"]["size"], 0.03),
                            xycoords=("data", "axes fraction"), ha="right", fontsize=8,
                            color=STYLE["udp"]["color"])
        legend_outside(ax)
    save(fig, out_dir, PLOTS["stream"])


def plot_rate(docs, out_dir):
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    trials = [t for t in sweep(docs, "rate_trial") if num(t["metrics"], "offered_mbps")]
    if not trials:
        no_data(ax, "rate")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    sizes = sorted({t["params"].get("size", 0) for t in trials})
    best_drawn = False
    for i, size in enumerate(sizes):
        c = colors[i % len(colors)]
        pts = sorted((t["metrics"]["offered_mbps"], num(t["metrics"], "loss_pct", 0))
                     for t in trials if t["params"].get("size", 0) == size)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=c,
                label=f"{size_words(size)} messages")
        for r in sweep(docs, "rate"):
            best = num(r["metrics"], "best_offered_mbps")
            if r["params"].get("size") == size and best:
                ax.axvline(best, color=c, linestyle=":", linewidth=1.2)
                best_drawn = True
    thresholds = {num(r["params"], "threshold_pct") for r in sweep(docs, "rate")} - {None}
    for thr in sorted(thresholds):
        ax.axhline(thr, color="red", linestyle="--", linewidth=1,
                   label=f"loss threshold {thr:g} %")
    if best_drawn:  # one legend entry for all the dotted lines, in grey: colour says the size
        ax.plot([], [], ":", color="grey", label="highest loss-free rate")
    if trials:
        offered = [t["metrics"]["offered_mbps"] for t in trials]
        ax.set_xscale("log")
        # Whole decades on both sides so every point has a labelled tick near it.
        ax.set_xlim(10 ** math.floor(math.log10(min(offered))),
                    10 ** math.ceil(math.log10(max(offered))))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: rate_label(x)))
        # In-between labels too (more of them when the trials span a single decade).
        lo, hi = ax.get_xlim()
        marks = "25" if hi / lo <= 10 else "3"
        ax.xaxis.set_minor_formatter(FuncFormatter(
            lambda x, _: rate_label(x) if f"{x:.0e}"[0] in marks else ""))
        ax.tick_params(axis="x", which="minor", labelsize=8)
        # symlog keeps 0 % loss on the axis as 0 instead of hiding it at some tiny fake value.
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylim(-0.002, 100)
        ax.yaxis.set_major_locator(FixedLocator([0, 0.01, 0.1, 1, 10, 100]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g} %"))
        ax.set_xlabel("offered rate (payload)")
        ax.set_ylabel("messages lost")
        ax.set_title("UDP loss vs offered rate (binary search, RFC 2544) — lower is better")
        ax.grid(True, which="both", alpha=0.3)
        legend_outside(ax)
    save(fig, out_dir, PLOTS["rate"])


def plot_fanout(docs, out_dir):
    fig, (ax, ax_p99) = plt.subplots(1, 2, figsize=(12, 4.5))
    runs = [r for r in sweep(docs, "fanout")
            if num(r["metrics"], "deliveries_per_s") and num(r["params"], "clients")]
    if not runs:
        no_data(ax, "fanout")
        no_data(ax_p99, "fanout")

    def key(r):
        return (r["tool"], r["transport"], bool(r["params"].get("text")),
                bool(r["params"].get("broadcast")))

    for tool, wire, text, one_sender in sorted({key(r) for r in runs}):
        mine = [r for r in runs if key(r) == (tool, wire, text, one_sender)]
        label = ("chat hub" if tool == "chat" else f"{tool} hub") + f", {wire_label(wire)}" + \
            (" text clients" if text else "") + (", one sender" if one_sender else "")
        marker = "--D" if text else (":s" if one_sender else "-o")
        xs, ys, _ = grouped((r["params"]["clients"], r["metrics"]["deliveries_per_s"])
                            for r in mine)
        ax.plot(xs, ys, marker, label=label, **STYLE.get(wire, {}))
        with_p99 = [r for r in mine if num(r["metrics"], "p99_us")]
        if with_p99:
            xs, ys, _ = grouped((r["params"]["clients"], r["metrics"]["p99_us"] / 1e3)
                                for r in with_p99)
            ax_p99.plot(xs, ys, marker, label=label, **STYLE.get(wire, {}))
    if runs:
        clients = sorted({r["params"]["clients"] for r in runs})
        for a in (ax, ax_p99):
            a.set_xscale("log")
            a.xaxis.set_major_locator(FixedLocator(clients))
            a.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
            a.xaxis.set_minor_locator(NullLocator())
            a.set_xlim(clients[0] / 1.5, clients[-1] * 1.5)
            a.set_xlabel("members in the hub")
            a.grid(True, which="both", alpha=0.3)
        # Linear from 0: the values span less than a decade, and bar-like heights read truthfully.
        ax.set_ylim(0, max(r["metrics"]["deliveries_per_s"] for r in runs) * 1.15)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: count_label(y) if y else "0"))
        ax.set_ylabel("deliveries per second")
        ax.set_title("Deliveries per second — higher is better")
        # Log: p99 runs from a millisecond at 10 members to seconds at thousands.
        ax_p99.set_yscale("log")
        ax_p99.set_ylabel("delivery latency p99 (ms)")
        ax_p99.set_title("Delivery p99 — lower is better")
        legend_outside(ax_p99)
    save(fig, out_dir, PLOTS["fanout"])


# ---- compare -------------------------------------------------------------------------------------

def ratio_facts(r):
    """What a ratio record says, in one place for the plot, the table and the summary."""
    p, m = r["params"], r["metrics"]
    target = p.get("target", "")
    lower = target.startswith("≤")
    return dict(what=p.get("what", "?"), wire=r["transport"], tool=r["tool"],
                unit=UNITS.get(p.get("metric", ""), ""), chat=num(m, "chat"),
                anchor=num(m, "anchor"), ratio=num(m, "ratio"), target=target or "—",
                met=m.get("met") if isinstance(m.get("met"), bool) else None,
                better="lower" if lower else "higher", note=r.get("note", ""))


def ratio_text(ratio, target):
    """Two decimals, or three where two would print the target's own number: 1.054 against
    "≤ 1.05" must not read "ratio 1.05: not met"."""
    text = f"{ratio:.2f}"
    bound = target.lstrip("≤≥ ").replace(",", "")
    try:
        if float(text) == float(bound):
            text = f"{ratio:.3f}"
    except ValueError:
        pass  # no numeric target: two decimals
    return text


def plot_compare(docs, out_dir):
    ratios = [ratio_facts(r) for r in compare_runs(docs, "ratio")]
    if not ratios:
        fig, ax = plt.subplots(figsize=(8.5, 3))
        no_data(ax, "compare")
        save(fig, out_dir, PLOTS["compare"])
        return
    cols = min(4, len(ratios))
    rows = math.ceil(len(ratios) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols + 0.6, 3.3 * rows), squeeze=False)
    for ax in axes.flat[len(ratios):]:
        ax.axis("off")
    for ax, f in zip(axes.flat, ratios):
        vals = [f["chat"] or 0, f["anchor"] or 0]
        bars = ax.bar(["chat", f["tool"]], vals,
                      color=[STYLE.get(f["wire"], {}).get("color", "tab:blue"), ANCHOR_COLOR])
        for b, v in zip(bars, vals):
            ax.annotate(count_label(v) if v >= 1000 else f"{v:.1f}", (b.get_x() + b.get_width() / 2,
                        v), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=8)
        ax.set_ylim(0, max(vals + [1]) * 1.22)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: count_label(y)))
        what = f["what"].replace(" (lower is better)", "")
        ax.set_title(f"{what} ({wire_label(f['wire'])})\n{f['unit']}, {f['better']} is better",
                     fontsize=8)
        if f["ratio"] is None:
            verdict, color = "no ratio: " + (f["note"] or "missing"), "grey"
        else:
            verdict = f"ratio {ratio_text(f['ratio'], f['target'])}, target {f['target']}: " + \
                ("met" if f["met"] else "not met")
            color = "green" if f["met"] else "firebrick"
        ax.set_xlabel(verdict, fontsize=8, color=color)
        ax.tick_params(labelsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("chat vs standard tools, same run, interleaved (ratio = chat ÷ tool)", fontsize=10)
    save(fig, out_dir, PLOTS["compare"])


# ---- Markdown ------------------------------------------------------------------------------------

def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |"
            for row in rows]
    return "\n".join(out)


def section_rows(runs, cols, key_params):
    rows = []
    for r in runs:
        p, m = r["params"], r["metrics"]
        rows.append([r["tool"], r["transport"]] + [p.get(k) for k in key_params] +
                    [m.get(k) for k in cols] + [r.get("note", "")])
    return rows


def median_metric(runs, key):
    vals = [num(r["metrics"], key) for r in runs]
    vals = [v for v in vals if v is not None]
    return (statistics.median(vals), len(vals)) if vals else (None, 0)


def runs_note(n):
    return f" (median of {n} runs)" if n > 1 else ""


def spread_words(values, unit="µs"):
    lo, hi = min(values), max(values)
    return f"{lo:.1f}–{hi:.1f} {unit}" if hi > lo else f"{lo:.1f} {unit}"


def rtt_noise(docs, rtt):
    """How much one chat rtt median moves between runs of the same point: the repeated rounds in
    compare (or merged files' repeats), as (spread µs, rounds, where) or None."""
    best = None
    groups = {}
    for r in compare_runs(docs, "rtt"):
        if r["tool"] == "chat" and not r["params"].get("busy_poll") and \
                num(r["metrics"], "p50_us") is not None:
            groups.setdefault((r["transport"], r["params"].get("size"), "compare"), []).append(
                r["metrics"]["p50_us"])
    for r in rtt:
        groups.setdefault((r["transport"], r["params"].get("size"), "sweep"), []).append(
            r["metrics"]["p50_us"])
    for (wire, size, where), vals in groups.items():
        if len(vals) < 2 or max(vals) == min(vals):  # identical repeats are a copied file
            continue
        cand = (max(vals) - min(vals), len(vals), wire, size, where, min(vals), max(vals))
        if best is None or cand[0] > best[0]:
            best = cand
    return best


def promises(docs):
    """One paragraph: what each wire promises, and where this run shows it paying for that."""
    text = ("TCP promises an ordered byte stream: nothing lost, nothing reordered, and no message "
            "boundaries, so the transport frames messages itself and a lost segment holds back "
            "everything behind it. UDP promises nothing: each datagram arrives whole or not at all, "
            "in any order, at most 65,507 bytes, and what the network drops stays dropped. ENet "
            "promises reliable, sequenced messages per channel over UDP: it acknowledges and resends "
            "in user space, fragments large messages, and delivers each channel in order.")
    rtt = [r for r in sweep(docs, "rtt") if r["tool"] == "chat"
           and num(r["metrics"], "p50_us") is not None]
    sizes = set.intersection(*[{r["params"].get("size") for r in rtt if r["transport"] == w}
                               for w in WIRES]) if rtt else set()
    sizes -= {None}
    if sizes:
        size = min(sizes)
        cost = []
        for w in WIRES:
            xs, ys, _ = grouped((r["params"].get("size"), r["metrics"]["p50_us"])
                                for r in rtt if r["transport"] == w)
            cost.append(f"{wire_label(w)} {dict(zip(xs, ys))[size]:.1f} µs")
        text += (f" Where each pays here: the median round trip at {size_words(size)} is "
                 + ", ".join(cost) + " (ENet's acknowledgements and resend timers run in the "
                 "process, not the kernel)")
        stream = [r for r in sweep(docs, "stream") if not num(r["params"], "rate_mps")
                  and num(r["metrics"], "recv_mbps")]
        best = {w: max((r["metrics"]["recv_mbps"] for r in stream if r["transport"] == w),
                       default=None) for w in WIRES}
        if all(best.values()):
            text += ("; the best one-way goodput is " +
                     ", ".join(f"{wire_label(w)} {rate_label(b)}" for w, b in best.items()) +
                     " (UDP's figure counts only what arrived, ENet's waits for every "
                     "acknowledgement)")
        text += "."
    bundles = bundle_words(docs)
    if bundles:
        text += " " + bundles
    return text


def bundle_words(docs):
    """What UDP's bundles mean for loss, from the messages per datagram the fan-out measured."""
    fan = [r for r in sweep(docs, "fanout") if r["transport"] == "udp"
           and num(r["metrics"], "messages_per_datagram")]
    if not fan:
        return ""
    per = sorted(r["metrics"]["messages_per_datagram"] for r in fan)
    sizes = sorted({num(r["params"], "udp_bundle_bytes") for r in fan} - {None})
    size = (f" of at most {and_words([f'{b:,}' for b in sizes])} bytes" if sizes and min(sizes) > 0
            else "")
    spread = f"{per[0]:.1f}" if per[-1] - per[0] < 0.05 else f"{per[0]:.1f} to {per[-1]:.1f}"
    if per[-1] < 1.05:
        return (f"UDP's hub sent its fan-out about one message per datagram here ({spread}), so a "
                "lost datagram took one message with it.")
    return (f"UDP's hub packs what one loop turn sends a member into datagrams{size}: in this "
            f"run's fan-out the members received {spread} messages per datagram, so one lost "
            f"datagram takes that many messages with it — the sequence numbers still count each "
            "one lost, but loss comes in bursts the size of a bundle.")


def rtt_summary(docs):
    rtt = [r for r in sweep(docs, "rtt") if num(r["metrics"], "p50_us") is not None
           and r["tool"] == "chat"]
    med = {}
    for wire in ("tcp", "udp"):
        xs, ys, by = grouped((r["params"].get("size"), r["metrics"]["p50_us"])
                             for r in rtt if r["transport"] == wire)
        med[wire] = dict(zip(xs, ys))
    common = sorted((set(med["tcp"]) & set(med["udp"])) - {None})
    if not common:
        return []
    samples = sorted({int(num(r["metrics"], "samples", 0)) for r in rtt})
    per_point = (f"{samples[0]:,} round trips per point" if len(samples) == 1 else
                 f"{samples[0]:,}–{samples[-1]:,} round trips per point")
    out = [f"Round trip (median of {per_point}, {len(common)} sizes from "
           f"{size_words(common[0])} to {size_words(common[-1])}): TCP "
           f"{spread_words([med['tcp'][x] for x in common])}, UDP "
           f"{spread_words([med['udp'][x] for x in common])}."]
    gaps = {x: med["tcp"][x] - med["udp"][x] for x in common}  # > 0: UDP quicker
    noise = rtt_noise(docs, rtt)
    floor = noise[0] if noise else 0.0

    def side(sign):
        xs = [x for x in common if gaps[x] * sign > floor]
        if not xs:
            return None
        return (f"at {sizes_words(xs)} (by {spread_words([abs(gaps[x]) for x in xs])})")
    udp_side, tcp_side = side(1), side(-1)
    if noise:
        spread, rounds, wire, size, where, lo, hi = noise
        head = (f"Run to run, chat's {size_words(size)} {wire_label(wire)} median moved "
                f"{lo:.1f}–{hi:.1f} µs over {rounds} "
                f"{'compare rounds' if where == 'compare' else 'merged runs'}, so gaps under "
                f"{spread:.1f} µs are noise")
        if not udp_side and not tcp_side:
            top = max(common, key=lambda x: abs(gaps[x]))
            lower = [x for x in common if gaps[x] > 0]
            out.append(head + f": no size showed a larger gap (the largest, {abs(gaps[top]):.1f} µs "
                       f"at {size_words(top)}, had {'UDP' if gaps[top] > 0 else 'TCP'} ahead; "
                       f"UDP's median was the lower at {len(lower)} of {len(common)} sizes).")
        else:
            parts = [f"UDP was quicker {udp_side}" if udp_side else None,
                     f"TCP was quicker {tcp_side}" if tcp_side else None]
            rest = len(common) - sum(1 for x in common if abs(gaps[x]) > floor)
            out.append(head + "; beyond that, " + " and ".join(p for p in parts if p) +
                       (f", and the other {rest} sizes were within it" if rest else "") + ".")
    else:
        parts = [f"UDP was quicker {udp_side}" if udp_side else None,
                 f"TCP was quicker {tcp_side}" if tcp_side else None]
        out.append("; ".join(p for p in parts if p) +
                   " — one run per point, so how much of that is noise is not measured here."
                   if any(parts) else "TCP and UDP medians were equal at every size.")
        out[-1] = out[-1][0].upper() + out[-1][1:]
    return out


def consistency_summary(docs):
    """The same point measured in a sweep and again in compare: when the two disagree, say so,
    with the parameters that differed, instead of letting two tables contradict each other."""
    out = []
    for scenario, key, words in (("stream", "recv_mbps", rate_label),
                                 ("rtt", "p50_us", us_label)):
        for c in compare_runs(docs, scenario):
            if c["tool"] != "chat" or c["params"].get("busy_poll") or num(c["metrics"], key) is None:
                continue
            same = [r for r in sweep(docs, scenario) if r["tool"] == "chat" and
                    r["transport"] == c["transport"] and
                    r["params"].get("size") == c["params"].get("size") and
                    num(r["metrics"], key) is not None and not num(r["params"], "rate_mps")]
            if not same:
                continue
            a = statistics.median(r["metrics"][key] for r in same)
            b = c["metrics"][key]
            if max(a, b) / min(a, b) < 1.2:
                continue
            diff = sorted(k for k in set(same[0]["params"]) | set(c["params"])
                          if k not in ("count", "warmup") and
                          same[0]["params"].get(k) != c["params"].get(k))
            why = ("parameters that differed: " + ", ".join(
                f"{k} {same[0]['params'].get(k, '—')} vs {c['params'].get(k, '—')}" for k in diff)
                if diff else "the same parameters, so this is how much one run varies here")
            out.append(f"{wire_label(c['transport'])} {scenario} at {size_words(c['params']['size'])} "
                       f"measured {words(a)} in its scenario run and {words(b)} in compare ({why}); "
                       f"figures from a single run carry that much uncertainty.")
            break  # one sentence per scenario is enough to show the spread
    return out


def summary(docs):
    """One sentence per finding, each citing numbers measured in these files (compare's points
    kept apart from the sweeps); a scenario the files do not carry gets no sentence."""
    out = rtt_summary(docs)

    stream = [r for r in sweep(docs, "stream") if not num(r["params"], "rate_mps")]
    best = {}
    for wire in WIRES:
        xs, ys, _ = grouped((r["params"].get("size"), num(r["metrics"], "recv_mbps"))
                            for r in stream if r["transport"] == wire)
        best[wire] = max(zip(ys, xs)) if xs else None
    if any(best.values()):
        durations = sorted({num(r["params"], "duration_s") for r in stream} - {None})
        runs = f" (one {durations[0]:g} s run per size)" if len(durations) == 1 else ""
        parts = [f"{wire_label(w)} {rate_label(b[0])} at {size_words(b[1])}"
                 for w, b in best.items() if b]
        out.append("Best goodput at unlimited rate" + runs + ": " + ", ".join(parts) + ".")

    udp_loss = [(num(r["metrics"], "loss_pct"), r["params"].get("size")) for r in stream
                if r["transport"] == "udp" and num(r["metrics"], "loss_pct") is not None]
    tcp_runs = [r for r in stream if r["transport"] == "tcp" and num(r["metrics"], "recv_mbps")]
    retrans = [v for v in (num(r["metrics"], "retransmits") for r in tcp_runs) if v is not None]
    tcp_loss = [num(r["metrics"], "loss_pct", 0) for r in tcp_runs]
    parts = []
    worst = max(udp_loss) if udp_loss else None
    if udp_loss:
        lossy = sum(1 for v, _ in udp_loss if v > 0)
        parts.append(f"UDP lost up to {worst[0]:.1f} % of its messages (at {size_words(worst[1])}; "
                     f"{lossy} of {len(udp_loss)} sizes lost any)" if worst[0] > 0 else
                     f"UDP lost nothing at any of its {len(udp_loss)} sizes")
    if tcp_runs:
        parts.append((f"TCP lost {max(tcp_loss):.1f} %" if max(tcp_loss) > 0 else "TCP lost nothing")
                     + (f" and retransmitted {sum(retrans):,} segments over its {len(tcp_runs)} "
                        "sizes" if retrans else ""))
    if parts:
        # The moral only where the numbers show it: UDP lost, TCP lost nothing yet retransmitted.
        moral = worst and worst[0] > 0 and tcp_runs and max(tcp_loss) == 0 and sum(retrans) > 0
        out.append("Sending as fast as possible, " + ", while ".join(parts) +
                   (": TCP repaired its losses, UDP left them to the application." if moral else "."))

    out += consistency_summary(docs)

    rates = sweep(docs, "rate")
    if rates:
        parts = []
        for r in sorted(rates, key=lambda r: r["params"].get("size", 0)):
            m, s = r["metrics"], size_words(r["params"].get("size", 0))
            if num(m, "best_rate_mps") is None:
                parts.append(f"none found at {s} ({r.get('note') or 'no result'})")
                continue
            # One trial means the unlimited first try was already under the threshold.
            full = " (no loss even at the sender's top speed)" if m.get("trials") == 1 else ""
            parts.append(f"{count_label(m['best_rate_mps'])} msg/s = "
                         f"{rate_label(num(m, 'best_offered_mbps', 0))} at {s}{full}")
        thr = {num(r["params"], "threshold_pct") for r in rates} - {None}
        thr_s = "/".join(f"{t:g}" for t in sorted(thr)) or "?"
        trial = sorted({num(r["params"], "trial_s") for r in rates} - {None})
        trial_s = f", {trial[0]:g} s trials" if len(trial) == 1 else ""
        out.append(f"Highest UDP rate with loss ≤ {thr_s} %{trial_s}: " + "; ".join(parts) + ".")

    fan = [r for r in sweep(docs, "fanout") if num(r["metrics"], "deliveries_per_s")
           and not r["params"].get("text")]
    parts = []
    for wire in WIRES:
        mine = [r for r in fan if r["transport"] == wire]
        if not mine:
            continue
        top = max(mine, key=lambda r: r["metrics"]["deliveries_per_s"])
        slow = max(mine, key=lambda r: num(r["metrics"], "p50_us", 0))
        clients = sorted({r["params"].get("clients") for r in mine})
        lat = num(slow["metrics"], "p50_us")
        parts.append(
            f"{wire_label(wire)} peaked at {count_label(top['metrics']['deliveries_per_s'])} "
            f"deliveries/s with {top['params'].get('clients', 0):,} clients × "
            f"{top['params'].get('messages', 0):,} messages each (over "
            f"{', '.join(f'{x:,}' for x in clients)} clients)" +
            (f"; its median delivery latency reached {us_label(lat)} at "
             f"{slow['params'].get('clients', 0):,} clients" if lat else ""))
    if parts:
        out.append("Hub fan-out: " + "; ".join(parts) + ".")
        by_clients = {}
        for r in fan:
            by_clients.setdefault(r["params"].get("messages"), set()).add(r["params"].get("clients"))
        if len(by_clients) > 1:
            out.append("The fan-out rounds did not all send as much: " + "; ".join(
                f"{and_words(f'{c:,}' for c in sorted(cs))} clients sent {m:,} messages each"
                for m, cs in sorted(by_clients.items(), key=lambda kv: -kv[0])) +
                " — fewer messages make a shorter round whose rate is less settled.")

    for f in [ratio_facts(r) for r in compare_runs(docs, "ratio")]:
        what = f["what"].replace(" (lower is better)", "")
        if f["ratio"] is None:
            continue  # no number to cite; the compare table names what is missing
        out.append(f"Against {f['tool']}, {what} ({wire_label(f['wire'])}): chat "
                   f"{value_words(f['chat'], f['unit'])} vs {f['tool']} "
                   f"{value_words(f['anchor'], f['unit'])}, ratio "
                   f"{ratio_text(f['ratio'], f['target'])} (target "
                   f"{f['target']}): **{'met' if f['met'] else 'not met'}**"
                   + (f" ({f['note']})" if f["note"] else "") + ".")
    return out


def render(out_dir, paths):
    demos = load_demos(paths)
    os.makedirs(out_dir, exist_ok=True)
    if all(is_demo_file(p) for p in paths):
        write_report(out_dir, ["# `chat demo` report", ""] + demo_chapter(demos, level=2))
        return
    docs = load(paths)
    has = {name: bool(sweep(docs, name)) for name in ("rtt", "stream", "rate", "fanout")}
    has["rate"] = has["rate"] or bool(sweep(docs, "rate_trial"))
    has["compare"] = bool(compare_runs(docs))
    # Only what was measured is drawn; a plot left over from an earlier report in the same
    # directory would be mistaken for this run's, so it goes.
    for name, plot in (("rtt", plot_rtt), ("stream", plot_stream), ("rate", plot_rate),
                       ("fanout", plot_fanout), ("compare", plot_compare)):
        path = os.path.join(out_dir, PLOTS[name])
        if has[name]:
            plot(docs, out_dir)
        elif os.path.exists(path):
            os.remove(path)

    md = ["# TCP vs UDP on this machine — `chat bench` report", ""]
    md += ["## What this run says", ""]
    lines = summary(docs) + render_sweep.summary(docs)
    md += [f"- {line}" for line in lines] if lines else ["- These files hold no results."]
    md += ["", "## What each wire promises", "", promises(docs), ""]
    md += ["Details, plots and every number follow" +
           ("; the compare phase's points are kept apart from the scenario sweeps (see the last "
            "section)." if has["compare"] else "."), ""]

    md += ["## Setup", ""]
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
    over_link = " (the loss sweep's over an emulated link)" if render_sweep.records(docs) else ""
    md += ["Every number comes from traffic through the same Transport seam the chat uses, on "
           f"loopback{over_link}; servers run as separate `chat server` processes, like sockperf's "
           "and iperf3's. Latency percentiles come from a log-linear histogram whose relative error is at most "
           "0.4 %." + (" Several files were merged: plot lines go through the median of the runs "
                       "at each point; the tables list every run." if len(docs) > 1 else ""), ""]

    if has["rtt"]:
        md += ["## Round-trip latency (rtt)", "", f"![RTT percentiles vs size]({PLOTS['rtt']})", ""]
        md += [table(["tool", "wire", "size B", "samples", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs",
                  "max µs", "lost", "note"],
                 section_rows(sweep(docs, "rtt"), ["samples", "p50_us", "p90_us", "p99_us",
                                                   "p999_us", "max_us", "lost"], ["size"])), ""]

    if has["stream"]:
        md += ["## One-way throughput (stream)", "", f"![Throughput vs size]({PLOTS['stream']})",
               ""]
        rows = section_rows(sweep(docs, "stream"), ["send_mbps", "recv_mbps", "recv_mps",
                                                    "loss_pct", "duplicates", "reordered",
                                                    "jitter_us", "retransmits"],
                            ["size", "rate_mps"])
        for row in rows:  # a target of 0 messages per second means no limit at all
            if not row[3]:
                row[3] = "unlimited"
        md += [table(["tool", "wire", "size B", "target msg/s", "sent Mbit/s", "received Mbit/s",
                      "received msg/s", "loss %", "dup", "reord", "jitter µs", "retrans", "note"],
                     rows), ""]

    if has["rate"]:
        md += ["## Highest loss-free UDP rate (rate)", "",
               f"![UDP loss vs offered rate]({PLOTS['rate']})", ""]
        md += [table(["tool", "wire", "size B", "threshold %", "best msg/s", "offered Mbit/s",
                  "goodput Mbit/s", "loss %", "trials", "note"],
                 section_rows(sweep(docs, "rate"), ["best_rate_mps", "best_offered_mbps",
                                                    "goodput_mbps", "loss_pct", "trials"],
                              ["size", "threshold_pct"])), ""]

    if has["fanout"]:
        md += ["## Hub fan-out (fanout)", "",
               f"![Fan-out deliveries/s vs clients]({PLOTS['fanout']})", ""]
        md += [table(["hub", "wire", "clients", "msgs each", "text", "deliveries/s", "expected",
                  "seen", "p50 µs", "p99 µs", "order errors", "note"],
                 section_rows(sweep(docs, "fanout"), ["deliveries_per_s", "expected", "seen",
                                                      "p50_us", "p99_us", "out_of_order"],
                              ["clients", "messages", "text"])), ""]

    md += render_sweep.chapter(docs, out_dir)

    ratios = compare_runs(docs, "ratio")
    if has["compare"]:
        md += ["## Compared with standard tools (compare)", ""]
    if ratios:
        md += ["Each measure below was run by chat and by a standard tool back to back in the same "
               "run, at one size; these points are not part of the sweeps above. "
               "Ratios are chat ÷ tool.", "", f"![chat vs standard tools]({PLOTS['compare']})", ""]
        rows = []
        for f in map(ratio_facts, ratios):
            rows.append([f["what"], f["wire"], f"{fmt(f['chat'], 2)} {f['unit']}".strip(),
                         f"{fmt(f['anchor'], 2)} {f['unit']} ({f['tool']})", fmt(f["ratio"], 3), f["target"],
                         "yes" if f["met"] else ("no" if f["met"] is False else "—"), f["note"]])
        md += [table(["measure", "wire", "chat", "tool", "ratio", "target", "met", "note"], rows),
               ""]
    elif has["compare"]:
        md += [f"![chat vs standard tools]({PLOTS['compare']})", "",
               "The compare phase produced no ratio.", ""]
    raw = [r for r in compare_runs(docs) if r["scenario"] != "ratio"]
    if raw:
        headline = {"rtt": [("p50_us", "p50", "µs"), ("p99_us", "p99", "µs")],
                    "stream": [("recv_mbps", "received", "Mbit/s"), ("loss_pct", "loss", "%"),
                               ("retransmits", "retransmits", "")],
                    "fanout": [("deliveries_per_s", "", "deliveries/s"),
                               ("p99_us", "p99", "µs")]}
        rows = []
        for r in raw:
            p, m = r["params"], r["metrics"]
            at = (size_words(p["size"]) if "size" in p and r["scenario"] != "fanout" else
                  f"{p['clients']:,} clients" if "clients" in p else "—")
            vals = ", ".join(f"{label} {fmt(num(m, k))} {unit}".strip()
                             for k, label, unit in headline.get(r["scenario"], [])
                             if num(m, k) is not None)
            rows.append([r["scenario"], r["tool"], r["transport"], at, vals or "—",
                         r.get("note", "")])
        md += ["The compare phase's own measurements:", ""]
        md += [table(["scenario", "tool", "wire", "at", "results", "note"], rows), ""]

    notes = [r for d in docs for r in d.get("runs", []) if r.get("note")]
    if notes:
        md += ["## Notes", ""]
        md += [f"- {r['scenario']} / {r['tool']} / {r['transport']}"
               + (" (compare)" if is_compare(r) else "") + f": {r['note']}" for r in notes]
        md += [""]

    if demos:
        md += demo_chapter(demos, level=2)
    write_report(out_dir, md)


def write_report(out_dir, md):
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    print(os.path.join(out_dir, "report.md"))


# ---- the thinking questions (chat demo) -----------------------------------------------------------

DEMO_SCHEMA = "chat-demo-results"
DEMO_NAMES = ("q1", "q2", "q3")
QUESTIONS = {
    "q1": ("If the multi-threading is removed, what happens, and why?",
           "若取消多线程，会出现什么现象？为什么？"),
    "q2": ("Besides multi-threading, how else can a socket send and receive at the same time?",
           "除了多线程，还有什么办法让 socket 同时收发？"),
    "q3": ("Can the chat work over UDP, and how do UDP and TCP differ?",
           "聊天能否改用 UDP？UDP 与 TCP 有何不同？"),
}


def is_demo_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("schema") == DEMO_SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def load_demos(paths):
    """Demo documents named on the command line, then any q1/q2/q3.json beside a results file;
    one per question (the first found)."""
    found = {}
    candidates = list(paths)
    for p in paths:
        if not is_demo_file(p):
            candidates += [os.path.join(os.path.dirname(os.path.abspath(p)), f"{n}.json")
                           for n in DEMO_NAMES]
    for p in candidates:
        if not os.path.isfile(p) or not is_demo_file(p):
            continue
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        name = doc.get("demo")
        if name in DEMO_NAMES and name not in found:
            found[name] = doc
    return [found[n] for n in DEMO_NAMES if n in found]


def demo_headline(doc):
    """The answer in one sentence, with its numbers, computed from the document."""
    name = doc["demo"]
    if name == "q1":
        n, l = doc.get("normal", {}), doc.get("lockstep", {})
        waits = [q.get("shown_after_ms", 0) for q in doc.get("quiet", {}).get("lines", [])]
        stuck = (f", and a line typed while it sat in recv waited {fmt(max(waits), 0)} ms to be "
                 f"sent, until someone else spoke") if waits and max(waits) > 100 else ""
        return (f"Without threads a blocking call holds the only thread: the lockstep client's "
                f"median delay was {fmt(l.get('p50_ms'))} ms against {fmt(n.get('p50_ms'))} ms for "
                f"the normal client, it showed {l.get('received', '?')} of {l.get('sent', '?')} "
                f"messages{stuck}.")
    if name == "q2":
        p = doc.get("select_probe", {})
        every = "every model delivered every message" if doc.get("all_delivered") else \
            "not every model delivered every message"
        return (f"I/O multiplexing (select, poll, epoll) serves every client from one thread; "
                f"{every}; select refused clients past FD_SETSIZE "
                f"({p.get('admitted', '?')} admitted, {p.get('refused', '?')} refused).")
    if name == "q3":
        bu = doc.get("busy_receiver", {}).get("udp", {})
        bt = doc.get("busy_receiver", {}).get("tcp", {})
        lim = doc.get("datagram_limit", {})
        return (f"Yes, over UDP the chat works, but with no connection, no delivery guarantee "
                f"(UDP lost {fmt(bu.get('lost'))} of {fmt(bu.get('sent'))} to a busy receiver, "
                f"TCP {fmt(bt.get('lost'))}), whole datagrams instead of a byte stream, and a "
                f"size limit (65,508 bytes: {lim.get('over_errno', '?')}).")
    return ""


def demo_table(doc):
    name = doc["demo"]
    if name == "q1":
        rows = [[c, f"{doc[c].get('received')}/{doc[c].get('sent')}", doc[c].get("p50_ms"),
                 doc[c].get("p99_ms"), doc[c].get("max_ms")]
                for c in ("normal", "lockstep") if c in doc]
        return table(["client", "shown/sent", "p50 ms", "p99 ms", "max ms"], rows)
    if name == "q2":
        rows = [[r.get("io", "?"), r.get("clients"), r.get("deliveries_per_s"),
                 (r.get("p99_us") or 0) / 1000, r.get("server_threads"),
                 (r.get("server_rss_kib") or 0) / 1024, r.get("server_cpu_s"),
                 f"{r.get('seen', 0)}/{r.get('expected', 0)}", r.get("note", r.get("error", ""))]
                for r in doc.get("models", [])]
        return table(["model", "clients", "deliveries/s", "p99 ms", "threads", "RSS MiB",
                      "CPU s", "delivered", "note"], rows)
    if name == "q3":
        bu = doc.get("busy_receiver", {}).get("udp", {})
        bt = doc.get("busy_receiver", {}).get("tcp", {})
        calls = doc.get("calls", {})
        b = doc.get("boundaries", {})
        imp = doc.get("impaired", {})
        rows = [
            ["socket calls for one exchange", calls.get("tcp", {}).get("calls"),
             calls.get("udp", {}).get("calls")],
            ["two sends read as", f"{1 if b.get('tcp', {}).get('first_read') == 'helloworld' else 2} read(s)",
             f"{len(b.get('udp', {}).get('reads', []))} reads"],
            ["busy receiver: lost", f"{bt.get('lost')} of {bt.get('sent')}",
             f"{bu.get('lost')} of {bu.get('sent')}"],
            ["reordered / duplicated", f"{bt.get('reordered')} / {bt.get('duplicates')}",
             f"{bu.get('reordered')} / {bu.get('duplicates')}"],
            ["dialed impairment", "measured" if imp.get("available") else "not available",
             imp.get("why", "") if not imp.get("available") else ""],
        ]
        return table(["", "TCP", "UDP"], rows)
    return ""


def trimmed(lines):
    while lines and not lines[0].strip():
        lines = lines[1:]
    return lines


def demo_chapter(demos, level=2):
    h = "#" * level
    md = [f"{h} The thinking questions, measured", ""]
    if not demos:
        return md + ["No `chat demo` results were given.", ""]
    md += ["The course's lab ends with three thinking questions (思考题). `chat demo q1|q2|q3` "
           "answers each with an experiment on loopback; this chapter is built from the JSON they "
           "wrote, and each block below is what the demo printed.", ""]
    for doc in demos:
        en, zh = QUESTIONS.get(doc["demo"], ("?", "?"))
        md += [f"{h}# {doc['demo'].upper()}. {en}", "", f"*{zh}*", ""]
        md += [f"**Answer.** {demo_headline(doc)}", ""]
        md += [demo_table(doc), ""]
        mode = " --quick" if doc.get("quick") else ""
        lang = " --lang zh" if doc.get("lang") == "zh" else ""
        md += [f"`chat demo {doc['demo']}{mode}{lang}` printed (in {fmt(doc.get('seconds'))} s):",
               "", "```text"] + trimmed(doc.get("transcript", [])) + ["```", ""]
    return md


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    render(sys.argv[1], sys.argv[2:])
