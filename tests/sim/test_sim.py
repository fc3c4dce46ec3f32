#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-tests of the simulator and the evaluator: python3 tests/sim/test_sim.py"""

import json
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import builder  # noqa: E402
import evaluate as ev  # noqa: E402
import models as m  # noqa: E402
import scenes  # noqa: E402

LABELS = [(10.0, 16.0, "spasm"), (20.0, 20.5, "twitch"), (30.0, 45.0, "voluntary"),
          (50.0, 51.5, "spasm"), (55.0, 55.3, "twitch")]


def as_events(labels, delay=0.1, detect=1.0):
    return [dict(type=c, onset_s=a + delay, offset_s=b + delay, announced_s=a + delay + 0.05,
                 detected_at_s=a + (detect if c == "spasm" else 0.3), duration_s=b - a)
            for a, b, c in labels]


class EvaluateTest(unittest.TestCase):
    def test_perfect(self):
        r = ev.evaluate(as_events(LABELS), LABELS, 3600.0)
        for c in ev.CLASSES:
            self.assertEqual((r.tp[c], r.fp[c], r.fn[c]), ({"spasm": 2, "twitch": 2, "voluntary": 1}[c], 0, 0))
            self.assertEqual(r.f1(c), 1.0)
        m_ = r.metrics()
        self.assertAlmostEqual(m_["onset_abs_error_median_s"], 0.1)
        self.assertAlmostEqual(m_["announce_median_s"], 0.15)
        self.assertAlmostEqual(m_["spasm_detect_median_s"], 1.0)
        self.assertEqual(m_["spasm_events_in_voluntary"], 0)
        self.assertEqual(m_["false_spasms_per_hour"], 0.0)

    def test_fragments_wrong_class_and_extras(self):
        def event(cls, on, off):
            return dict(type=cls, onset_s=on, offset_s=off, announced_s=on + 0.1, detected_at_s=on + 1.0)

        evs = as_events(LABELS)
        evs.append(event("spasm", 14.0, 15.0))      # a second fragment of the first spasm
        evs.append(event("spasm", 35.0, 40.0))      # walking reported as a spasm
        evs.append(event("twitch", 100.0, 100.2))   # a twitch in rest
        evs = [e for e in evs if not (e["type"] == "twitch" and e["onset_s"] < 21)]
        evs.append(event("spasm", 20.0, 21.2))      # the first twitch reported as a spasm
        evs.append(dict(type="summary", frames=1))
        r = ev.evaluate(evs, LABELS, 1800.0)
        self.assertEqual((r.tp["spasm"], r.fp["spasm"], r.fn["spasm"]), (2, 3, 0))
        self.assertEqual((r.tp["twitch"], r.fp["twitch"], r.fn["twitch"]), (1, 1, 1))
        self.assertEqual(r.spasm_in_voluntary, 1)
        self.assertAlmostEqual(r.false_spasms_per_hour(), 6.0)
        self.assertAlmostEqual(r.f1("spasm"), 2 * (2 / 5) / (2 / 5 + 1))

    def test_greedy_prefers_largest_overlap(self):
        # the long event overlaps both; the short one only the first: best total is 2 matches
        det = [(0.0, 10.0), (0.5, 1.0)]
        true = [(0.0, 1.2), (5.0, 9.0)]
        pairs = sorted(ev.match(det, true))
        self.assertEqual(pairs, [(0, 1), (1, 0)])

    def test_unfinished_event_runs_to_end(self):
        r = ev.evaluate([dict(type="spasm", onset_s=50.0, offset_s=-1.0, announced_s=50.1, detected_at_s=51.0)],
                        [(50.0, 60.0, "spasm")], 60.0)
        self.assertEqual(r.tp["spasm"], 1)

    def test_pooling(self):
        a = ev.evaluate(as_events(LABELS), LABELS, 1800.0)
        b = ev.evaluate([], LABELS, 1800.0)
        t = a + b
        self.assertEqual(t.tp["spasm"], 2)
        self.assertEqual(t.fn["spasm"], 2)
        self.assertAlmostEqual(t.hours, 1.0)
        self.assertAlmostEqual(t.recall("spasm"), 0.5)

    def test_files_roundtrip(self):
        with tempfile.TemporaryDirectory() as d:
            lab = os.path.join(d, "x.labels.csv")
            builder.write_labels(lab, [dict(onset_s=a, offset_s=b, cls=c) for a, b, c in LABELS])
            js = os.path.join(d, "x.jsonl")
            with open(js, "w") as f:
                for e in as_events(LABELS):
                    f.write(json.dumps(e) + "\n")
                f.write(json.dumps(dict(type="summary", duration_s=120.0)) + "\n")
            r = ev.evaluate_files(lab, js)
            self.assertEqual(r.hours, 120.0 / 3600)
            self.assertEqual(r.f1("spasm"), 1.0)


class ModelTest(unittest.TestCase):
    def test_shaped_noise(self):
        rng = np.random.default_rng(1)
        fs = 1000.0
        x = m.shaped_noise(rng, 20000, fs, m.emg_psd_shwedyk(60, 120))
        self.assertAlmostEqual(float(np.sqrt(np.mean(x ** 2))), 1.0, places=6)
        f = np.fft.rfftfreq(len(x), 1 / fs)
        p = np.abs(np.fft.rfft(x)) ** 2
        self.assertLess(p[f >= 0.45 * fs].sum(), 1e-9 * p.sum())
        self.assertLess(p[f < 20].sum(), 0.05 * p.sum())

    def test_postures_and_gyro(self):
        rng = np.random.default_rng(2)
        g = m.G * m.world_up_in_body(builder._posture_quat(rng, "standing"))
        self.assertGreater(g[1], 9.6)
        g = m.G * m.world_up_in_body(builder._posture_quat(rng, "supine"))
        self.assertGreater(g[2], 9.6)
        g = m.G * m.world_up_in_body(builder._posture_quat(rng, "sitting"))
        self.assertGreater(g[2], 9.81 * np.sin(np.radians(19)))
        g = m.G * m.world_up_in_body(builder._posture_quat(rng, "side_left"))
        self.assertGreater(g[0], 9.6)
        # forward flexion: acc_z = -g sin(theta), gyro_x = +d theta / dt
        fs = 500.0
        t = np.arange(500) / fs
        th = 0.5 * t
        q = m.quat_from_rotvec(np.outer(th, (1.0, 0.0, 0.0)))
        acc = m.G * m.world_up_in_body(q)
        self.assertTrue(np.allclose(acc[:, 2], -m.G * np.sin(th)))
        self.assertTrue(np.allclose(m.body_rate(q, fs)[:, 0], 0.5, atol=1e-6))

    def test_scene_is_deterministic(self):
        def render():
            sc = builder.Scene("x", [5, 6], rate_hz=500, posture="supine")
            sc.rest(5)
            sc.spasm(2.0, jerk=True, pulse=True)
            sc.rest(4)
            return sc.render()
        a, b = render(), render()
        self.assertTrue(np.array_equal(a["emg"], b["emg"]))
        self.assertTrue(np.array_equal(a["imu"], b["imu"]))
        self.assertEqual(a["labels"][0]["onset_s"], 5.0)

    def test_check_set_counts(self):
        total, counts = 0.0, {}
        for name, spec in scenes.scene_set("check").items():
            sc = scenes.build(name, spec, scenes.DEFAULT_SEED["check"])
            total += sc.t
            self.assertTrue(60 <= sc.t <= 6 * 60 + 1e-6 or name == "rest_only", name)
            for e in sc.labels:
                counts[e["kind"]] = counts.get(e["kind"], 0) + 1
                if not sc.imu:
                    self.assertNotEqual(e["cls"], "voluntary")
            builder.validate_labels(sc.labels)
        self.assertTrue(35 * 60 <= total <= 50 * 60, total)
        self.assertGreaterEqual(counts["spasm"], 40)
        self.assertGreaterEqual(counts["twitch"], 40)
        for k in ("walk", "bend", "lean_hold", "transition"):
            self.assertGreaterEqual(counts[k], 15, k)


if __name__ == "__main__":
    unittest.main()
