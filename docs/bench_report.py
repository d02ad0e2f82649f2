#!/usr/bin/env python3
"""Ratios against issue 10's targets, and an SVG chart, from the referee's results (stdlib only).

    python3 docs/bench_report.py RESULTS.jsonl [--ours NAME] [--svg OUT.svg]

Medians per (workload, client), as the referee's tools/summarize.py computes them. Prints a
markdown table of our client's ratios to each peer named by a target; writes a chart of
throughput relative to reqwest-ct per workload.
"""
import argparse, json, statistics as st
from collections import defaultdict

ORDER = ["get_seq", "get_c64", "get_newconn", "get64k_c8", "download_100m", "upload_64m",
         "tls_get_seq", "tls_newconn"]
BIG = ("download", "upload")


def medians(path):
    rows = defaultdict(list)
    for line in open(path):
        r = json.loads(line)
        if "failed" not in r:
            rows[(r["workload"], r["client"])].append(r)
    out = {}
    for (w, c), rs in rows.items():
        big = w.startswith(BIG)
        out[(w, c)] = {
            "rate": st.median(r["mib_per_s"] if big else r["req_per_s"] for r in rs),
            "cpu": st.median(
                r["cpu_s"] / (r["bytes"] / 2**30) if big else r["cpu_s"] / max(r["requests"], 1) * 1e4
                for r in rs),
            "rss": st.median(r["rss_kb"] for r in rs) / 1024,
            "unit": "MiB/s" if big else "req/s",
            "cpu_unit": "CPU s/GiB" if big else "CPU s/10k req",
        }
    return out


def ratio_rows(m, ours):
    """(workload, what, ratio, target, met) for every target of the issue that the run can check."""
    rows = []
    def get(w, c):
        return m.get((w, c))
    def rate(w, peer, target):
        a, b = get(w, ours), get(w, peer)
        if a and b:
            r = a["rate"] / b["rate"]
            rows.append((w, "%s vs %s" % (a["unit"], peer), r, "≥ %.2f" % target, r >= target))
    def cpu(w, peer, target):
        a, b = get(w, ours), get(w, peer)
        if a and b:
            r = a["cpu"] / b["cpu"]
            rows.append((w, "%s vs %s" % (a["cpu_unit"], peer), r, "≤ %.2f" % target, r <= target))
    def best(w):
        a = get(w, ours)
        # Variants of our own client (`ours-nospin`) are not peers.
        peers = [(c, v) for (ww, c), v in m.items() if ww == w and not c.startswith("ours")]
        if a and peers:
            c, v = max(peers, key=lambda p: p[1]["rate"])
            r = a["rate"] / v["rate"]
            rows.append((w, "%s vs best peer (%s)" % (a["unit"], c), r, "≥ 1.00", r >= 1.0))
    rate("get_seq", "reqwest-ct", 1.15); rate("get_seq", "wrk", 0.95)
    best("get_c64"); cpu("get_c64", "reqwest-ct", 0.75); cpu("get_c64", "wrk", 1.0)
    rate("get_newconn", "reqwest-ct", 1.2)
    rate("get64k_c8", "hyper-util-ct", 1.0); cpu("get64k_c8", "hyper-util-ct", 1.0)
    best("download_100m"); cpu("download_100m", "reqwest-ct", 0.75)
    best("upload_64m")
    rate("tls_get_seq", "reqwest-ct", 1.1)
    rate("tls_newconn", "reqwest-mt", 1.0)
    rate("get_c64", "treq", 20.0)
    for w in ORDER:
        a, b = get(w, ours), get(w, "reqwest-ct")
        if a and b:
            rows.append((w, "peak RSS vs reqwest-ct", a["rss"] / b["rss"], "≤ 1.00", a["rss"] <= b["rss"]))
    if get("upload_64m", ours):
        v = get("upload_64m", ours)["rss"]
        rows.append(("upload_64m", "peak RSS MiB", v, "< 16", v < 16))
    return rows


def svg(m, ours, path):
    variants = sorted({c for (_, c) in m if c.startswith("ours") and c != ours})
    clients = [ours] + variants + ["reqwest-ct", "hyper-util-ct", "wrk", "treq"]
    colors = {ours: "#d62728", "reqwest-ct": "#1f77b4", "hyper-util-ct": "#2ca02c", "wrk": "#7f7f7f",
              "treq": "#ff7f0e"}
    for c in variants:
        colors[c] = "#f4a6a6"
    wls = [w for w in ORDER if (w, "reqwest-ct") in m]
    bar, gap, left, top, height = 14, 26, 150, 40, 260
    width = left + len(wls) * (len(clients) * bar + gap) + 20
    vmax = max(2.0, min(3.5, max(m[(w, ours)]["rate"] / m[(w, "reqwest-ct")]["rate"]
                                 for w in wls if (w, ours) in m)))
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
             'font-size="11">' % (width, top + height + 90),
             '<text x="%d" y="20" font-size="14">Throughput relative to reqwest-ct (median of the run; '
             'bars clipped at %.1f×)</text>' % (left, vmax)]
    for t in [0.5 * k for k in range(1, int(vmax / 0.5) + 1)]:
        y = top + height - t / vmax * height
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ccc"/>' % (left - 5, width - 10, y, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.1f×</text>' % (left - 8, y + 4, t))
    for i, w in enumerate(wls):
        x0 = left + i * (len(clients) * bar + gap)
        base = m[(w, "reqwest-ct")]["rate"]
        for j, c in enumerate(clients):
            v = m.get((w, c))
            if not v:
                continue
            r = v["rate"] / base
            h = min(r, vmax) / vmax * height
            x = x0 + j * bar
            parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %s: %.2f× '
                         '(%.0f %s)</title></rect>' % (x, top + height - h, bar - 2, h, colors[c], w, c, r,
                                                       v["rate"], v["unit"]))
        parts.append('<text x="%d" y="%d" transform="rotate(30 %d %d)">%s</text>' % (
            x0, top + height + 14, x0, top + height + 14, w))
    for j, c in enumerate(clients):
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>' % (
            left + j * 120, top + height + 70, colors[c], left + j * 120 + 14, top + height + 79, c))
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--ours", default="ours")
    ap.add_argument("--svg")
    a = ap.parse_args()
    m = medians(a.results)
    print("| workload | measure | ours / peer | target | met |")
    print("|---|---|---|---|---|")
    for w, what, r, target, met in ratio_rows(m, a.ours):
        print("| %s | %s | %.2f | %s | %s |" % (w, what, r, target, "yes" if met else "**no**"))
    if a.svg:
        svg(m, a.ours, a.svg)


if __name__ == "__main__":
    main()
