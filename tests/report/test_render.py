#!/usr/bin/python3
"""Checks of reports/render.py's plots that the Markdown cannot show: where the axes are labelled.
Run by ctest with Debian's /usr/bin/python3 (matplotlib)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "reports"))
import render  # noqa: E402


def rtt_doc(points):
    runs = [{"scenario": "rtt", "tool": "chat", "transport": wire, "params": {"size": size},
             "metrics": {"p50_us": p50, "p99_us": p50 * 1.5, "p999_us": p50 * 2.5}}
            for wire, size, p50 in points]
    return [{"schema": render.SCHEMA, "schema_version": 2, "runs": runs}]


class RttPlot(unittest.TestCase):
    def draw(self, docs):
        figs = []
        saved = render.save
        render.save = lambda fig, out_dir, name: figs.append(fig)
        try:
            render.plot_rtt(docs, tempfile.gettempdir())
        finally:
            render.save = saved
        return figs[0].axes[0]

    def test_the_log_axis_is_labelled_where_the_data_lies(self):
        # The reference run: everything between ~55 and ~230 µs.
        points = [(w, s, p) for w, base in (("tcp", 58.0), ("udp", 56.0))
                  for s, p in ((16, base), (1024, base + 1), (65000, base + 28))]
        ax = self.draw(rtt_doc(points))
        lo, hi = ax.get_ylim()
        ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
        self.assertGreaterEqual(len(ticks), 4, ticks)
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        self.assertGreaterEqual(len(labels), 4, labels)
        self.assertEqual(len(ax.get_yticklabels(minor=True)), 0)

    def test_sizes_are_labelled_in_one_unit_style(self):
        points = [(w, s, 50.0 + i) for w in ("tcp", "udp")
                  for i, s in enumerate((16, 1024, 16384, 65000, 131072))]
        ax = self.draw(rtt_doc(points))
        ax.figure.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        self.assertEqual(labels, ["16", "1,024", "16,384", "65,000", "131,072"])

    def test_nice_ticks_cover_narrow_and_wide_ranges(self):
        self.assertEqual(render.nice_ticks(50, 230), [50, 70, 100, 150, 200])
        wide = render.nice_ticks(10, 2e6)
        self.assertTrue(4 <= len(wide) <= 8, wide)
        self.assertTrue(all(10 <= t <= 2e6 for t in wide), wide)


class RatioWords(unittest.TestCase):
    def test_a_ratio_that_rounds_onto_its_target_shows_the_digit_that_decides(self):
        self.assertEqual(render.ratio_text(1.054, "≤ 1.05"), "1.054")
        self.assertEqual(render.ratio_text(1.046, "≤ 1.05"), "1.046")
        self.assertEqual(render.ratio_text(0.904, "≥ 0.9"), "0.904")

    def test_other_ratios_keep_two_decimals(self):
        self.assertEqual(render.ratio_text(1.13, "≤ 1.05"), "1.13")
        self.assertEqual(render.ratio_text(6.694, "≥ 1.5"), "6.69")
        self.assertEqual(render.ratio_text(1.2, "—"), "1.20")


class BundleWords(unittest.TestCase):
    def docs(self, per, size=1472):
        runs = [{"scenario": "fanout", "tool": "chat", "transport": "udp",
                 "params": {"clients": c, "messages": 20, "udp_bundle_bytes": size},
                 "metrics": {"deliveries_per_s": 1e6, "messages_per_datagram": p}}
                for c, p in zip((100, 1000), per)]
        runs.append({"scenario": "fanout", "tool": "chat", "transport": "tcp",
                     "params": {"clients": 100, "messages": 20},
                     "metrics": {"deliveries_per_s": 1e6}})
        return [{"schema": render.SCHEMA, "schema_version": 2, "runs": runs}]

    def test_a_lost_datagram_takes_the_measured_messages(self):
        text = render.promises(self.docs([12.34, 15.0]))
        self.assertIn("12.3 to 15.0 messages per datagram", text)
        self.assertIn("1,472 bytes", text)
        self.assertIn("one lost datagram takes that many messages", text)

    def test_unbundled_runs_say_one_message(self):
        text = render.promises(self.docs([1.0, 1.0], size=0))
        self.assertIn("about one message per datagram", text)

    def test_no_udp_fanout_no_sentence(self):
        self.assertNotIn("per datagram", render.promises(rtt_doc([("tcp", 16, 50.0)])))


if __name__ == "__main__":
    unittest.main()
