"""The loss sweep's chapter of the report (records of `chat bench sweep`): delivered fraction, p99
one-way delay and goodput against loss, the one-way delay CDF of each wire at one loss rate, and
throughput against p95 delay under load (Pantheon's summary plot). Imported by render.py."""
import math

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

PLOTS = {
    "delivered": "sweep_delivered.png",
    "p99": "sweep_p99_delay.png",
    "goodput": "sweep_goodput.png",
    "cdf": "sweep_delay_cdf.png",
    "scatter": "sweep_throughput_delay.png",
}
COLORS = {"tcp": "tab:blue", "udp": "tab:orange", "enet": "tab:green"}
DASHES = ["-", "--", ":", "-."]


def records(docs):
    return [r for d in docs for r in d.get("runs", []) if r.get("scenario") == "sweep"]


def num(d, key):
    v = d.get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def f(v, digits=1):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ms(us):
    return None if us is None else us / 1000.0


def plain_log_ticks(axis):
    """Log axes labelled 20, 30, 40 rather than 2×10¹."""
    label = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(label)
    axis.set_minor_formatter(label)


def series(recs, metric):
    """{(wire, delay): [(loss, value), ...]} sorted by loss."""
    out = {}
    for r in recs:
        p, m = r["params"], r["metrics"]
        v = num(m, metric)
        if v is None:
            continue
        out.setdefault((r["transport"], p.get("delay_ms", 0)), []).append((p.get("loss_pct", 0), v))
    return {k: sorted(v) for k, v in sorted(out.items())}


def line_plot(recs, metric, ylabel, title, path, scale=1.0, logy=False):
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    delays = sorted({r["params"].get("delay_ms", 0) for r in recs})
    for (wire, delay), pts in series(recs, metric).items():
        ax.plot([x for x, _ in pts], [y * scale for _, y in pts], marker="o",
                color=COLORS.get(wire, "tab:gray"), linestyle=DASHES[delays.index(delay) % 4],
                label=f"{wire}, delay {f(delay, 0)} ms")
    ax.set_xlabel("loss on the link, each direction (%)")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cdf_point(recs):
    """The loss rate and delay for the CDF plot: the largest delay, and the loss nearest 2 %."""
    if not recs:
        return None, None
    delay = max(r["params"].get("delay_ms", 0) for r in recs)
    losses = sorted({r["params"].get("loss_pct", 0) for r in recs
                     if r["params"].get("delay_ms", 0) == delay})
    lossy = [x for x in losses if x > 0] or losses
    return min(lossy, key=lambda x: abs(x - 2.0)), delay


def plot_cdf(recs, path):
    loss, delay = cdf_point(recs)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for r in recs:
        p = r["params"]
        if p.get("loss_pct") != loss or p.get("delay_ms") != delay:
            continue
        cdf = r["metrics"].get("one_way_cdf_us") or []
        if cdf:
            ax.plot([v / 1000.0 for _, v in cdf], [q / 100.0 for q, _ in cdf], marker=".",
                    color=COLORS.get(r["transport"], "tab:gray"), label=r["transport"])
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("one-way delay of the 1 ms probe messages (ms, log scale)")
    ax.set_ylabel("fraction of delivered messages")
    ax.set_title(f"One-way delay CDF at {f(loss)} % loss, delay {f(delay, 0)} ms")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return loss, delay


def plot_scatter(recs, path):
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for r in recs:
        m, p = r["metrics"], r["params"]
        x, y = ms(num(m, "bulk_one_way_p95_us")), num(m, "goodput_mbps")
        if x is None or y is None:
            continue
        ax.scatter([x], [y], color=COLORS.get(r["transport"], "tab:gray"),
                   marker="o" if p.get("delay_ms", 0) == 0 else "^")
        ax.annotate(f"{f(p.get('loss_pct'))} %", (x, y), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")
    for wire, color in COLORS.items():
        if any(r["transport"] == wire for r in recs):
            ax.scatter([], [], color=color, label=wire)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.invert_xaxis()  # better is up and to the right, as Pantheon draws it
    ax.set_xlabel("p95 one-way delay during the bulk transfer (ms, log scale, reversed)")
    ax.set_ylabel("goodput (Mbit/s)")
    ax.set_title("Throughput vs delay under load (labels: loss %; ▲ delayed link)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def find(recs, wire, loss, delay):
    for r in recs:
        p = r["params"]
        if r["transport"] == wire and p.get("loss_pct") == loss and p.get("delay_ms") == delay:
            return r["metrics"]
    return None


def summary(docs):
    """Sentences computed from the sweep records; each cites numbers measured in this run."""
    recs = records(docs)
    if not recs:
        return []
    out = []
    wires = sorted({r["transport"] for r in recs})
    for delay in sorted({r["params"].get("delay_ms", 0) for r in recs}):
        losses = sorted({r["params"].get("loss_pct", 0) for r in recs
                         if r["params"].get("delay_ms") == delay})
        hi, lo = losses[-1], losses[0]
        if hi == lo:
            continue
        parts = []
        for w in wires:
            a, b = find(recs, w, lo, delay), find(recs, w, hi, delay)
            if not a or not b:
                continue
            parts.append(f"{w} delivered {f(num(b, 'delivered_pct'))} % of its probe messages "
                         f"(p99 one-way delay {f(ms(num(a, 'one_way_p99_us')))} → "
                         f"{f(ms(num(b, 'one_way_p99_us')))} ms from {f(lo)} % loss)")
        if parts:
            out.append(f"Over the emulated link at {f(hi)} % loss each way and {f(delay, 0)} ms "
                       "delay: " + "; ".join(parts) + ".")
    tcp = [r for r in recs if r["transport"] == "tcp" and num(r["metrics"], "goodput_mbps")]
    if tcp:
        best = max(tcp, key=lambda r: r["metrics"]["goodput_mbps"])
        worst = min(tcp, key=lambda r: r["metrics"]["goodput_mbps"])
        cc = best["params"].get("tcp_cc", "?")
        out.append(f"TCP ({cc} congestion control) moved {f(worst['metrics']['goodput_mbps'])} "
                   f"Mbit/s at {f(worst['params'].get('loss_pct'))} % loss and "
                   f"{f(worst['params'].get('delay_ms'), 0)} ms delay, against "
                   f"{f(best['metrics']['goodput_mbps'])} Mbit/s at "
                   f"{f(best['params'].get('loss_pct'))} % and "
                   f"{f(best['params'].get('delay_ms'), 0)} ms, retransmitting "
                   f"{worst['metrics'].get('retransmits', '?')} segments there.")
    corrupted = sum(r["metrics"].get("link", {}).get(d, {}).get("corrupted", 0)
                    for r in recs for d in ("up", "down"))
    if corrupted:
        out.append(f"The link corrupted {corrupted:,} packets (one flipped bit each); the "
                   "receiving kernel's checksum discarded them, so they count as lost.")
    return out


def chapter(docs, out_dir):
    """Markdown lines for the sweep chapter (empty when there are no sweep records)."""
    import os
    recs = records(docs)
    if not recs:
        return []
    path = lambda k: os.path.join(out_dir, PLOTS[k])  # noqa: E731
    line_plot(recs, "delivered_pct", "delivered (%)",
              "Probe messages delivered vs loss (higher is better)", path("delivered"))
    line_plot(recs, "one_way_p99_us", "p99 one-way delay (ms, log scale)",
              "p99 one-way delay of the 1 ms probe vs loss (lower is better)", path("p99"),
              scale=1e-3, logy=True)
    line_plot(recs, "goodput_mbps", "goodput (Mbit/s)",
              "Bulk goodput vs loss (higher is better)", path("goodput"))
    loss, delay = plot_cdf(recs, path("cdf"))
    plot_scatter(recs, path("scatter"))
    first = recs[0]["params"]
    base = sorted({r["params"].get("impair", "") for r in recs})
    md = ["## Loss and delay, dialed (sweep)", ""]
    md += ["Each point ran over an emulated link: two network namespaces joined through TUN "
           "devices by `chat`'s own forwarder, which drops, delays and queues real IP packets, so "
           "the kernel's own TCP really retransmits. Loss and delay apply in both directions. "
           f"Per point and wire: a probe of {first.get('probe_size')} B messages every "
           f"{f(first.get('probe_interval_ms'))} ms for {f(first.get('probe_s'))} s (a fixed "
           "interval, so a lost message never stalls the clock), then a "
           f"{f(first.get('bulk_s'))} s bulk transfer of {first.get('bulk_size')} B messages. "
           "One-way delay is arrival minus the send stamp, both read from one monotonic clock. "
           "Link specs: " + ", ".join(f"`{b}`" for b in base) + ".", ""]
    md += ["What to look for: UDP promises nothing, so what the link drops is gone — its delivered "
           "fraction can only follow 1 − loss — but nothing waits for a lost datagram. TCP "
           "promises every byte in order: a lost segment holds back every later message until "
           "it is retransmitted (head-of-line blocking), so its cost shows in the delay plots "
           "rather than in the delivered fraction. The table gives each point's numbers; the "
           "summary at the top says what this run's numbers show.", ""]
    md += [f"![delivered vs loss]({PLOTS['delivered']})", "",
           f"![p99 one-way delay vs loss]({PLOTS['p99']})", "",
           f"![goodput vs loss]({PLOTS['goodput']})", "",
           f"![one-way delay CDF at {f(loss)} % loss]({PLOTS['cdf']})", "",
           f"![throughput vs p95 delay]({PLOTS['scatter']})", ""]
    rows = []
    for r in sorted(recs, key=lambda r: (r["transport"], r["params"].get("delay_ms", 0),
                                         r["params"].get("loss_pct", 0))):
        p, m = r["params"], r["metrics"]
        up = m.get("link", {}).get("up", {})
        rows.append([r["transport"], f(p.get("delay_ms"), 0), f(p.get("loss_pct")),
                     f"{m.get('delivered', '—')}/{m.get('sent', '—')}",
                     f(num(m, "delivered_pct")), f(ms(num(m, "one_way_p50_us")), 2),
                     f(ms(num(m, "one_way_p99_us")), 2), f(ms(num(m, "one_way_max_us")), 2),
                     str(m.get("duplicates", "—")), str(m.get("reordered", "—")),
                     f(num(m, "goodput_mbps")), str(m.get("retransmits", "—")),
                     f"{up.get('lost', '—')}/{up.get('packets_in', '—')}",
                     r.get("note", "")])
    md += ["| wire | delay ms | loss % | probe delivered | % | p50 ms | p99 ms | max ms | dup | "
           "reord | goodput Mbit/s | retrans | link dropped/packets (up) | note |",
           "|" + "---|" * 14]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md += [""]
    return md
