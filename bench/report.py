#!/usr/bin/env python3
"""Turn the raw per-run figures of bench/run.sh into the Markdown results file.

Usage: report.py RUNS_TSV META_FILE > results.md

RUNS_TSV has one line per wrk run:
    scenario  server  round  rps  p50_us  p99_us  errors  peak_rss_kb
META_FILE has `key=value` lines (date, commit, machine, signing ceiling, idle
RSS, settings, notes). Every figure printed here comes from those two files;
the script computes medians, ratios and the target verdicts, nothing else.
"""

import statistics
import sys
from collections import OrderedDict

TESSERA = "Tessera (SQLite)"
TESSERA_PG = "Tessera (PostgreSQL)"
PEER = "oidc-provider"

# (key, label) in table order; every Tessera row's ratio is to the peer's row
# of the same key.
SCENARIOS = [
    ("client_credentials", "client_credentials, Basic auth, ES256 JWT"),
    ("client_credentials_rs256", "client_credentials, Basic auth, RS256 JWT"),
    ("code_flow", "code flow, server side (authorize + token), flows/s"),
    ("code_flow_1conn", "code flow, server side, one connection, flows/s"),
    ("introspection", "introspection of an access token"),
    ("jwks", "GET /jwks.json"),
    ("discovery", "GET /.well-known/openid-configuration"),
]


def not_yet(meta):
    """Rows that cannot be measured, and why, after the scenario they belong
    with. What Tessera offers is read from its discovery document and source
    tree in this run, so the reason stays true as Tessera grows."""
    grants = set(filter(None, meta.get("tessera_grant_types", "").split(",")))
    if "refresh_token" in grants:
        refresh = "not measured: the bench has no refresh-grant driver yet"
    else:
        refresh = "not yet available: Tessera offers no refresh_token grant at this commit"
    if meta.get("has_guard") == "yes":
        guard = "not measured: the bench has no guard driver yet"
    else:
        guard = "not yet available: there is no tessera-guard crate at this commit"
    return {
        "client_credentials_rs256": [
            (None, TESSERA, "not yet available: Tessera signs access tokens with ES256 only"),
        ],
        "code_flow_1conn": [
            ("refresh_token grant", "both", refresh),
        ],
        "discovery": [
            ("guard validation of a token", TESSERA, guard),
        ],
    }


def read_meta(path):
    meta = OrderedDict()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                key, value = line.split("=", 1)
                meta[key] = value
    return meta


def read_runs(path):
    runs = OrderedDict()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            scenario, server, rnd, rps, p50, p99, errors, rss = line.rstrip("\n").split("\t")
            runs.setdefault((scenario, server), []).append({
                "round": int(rnd), "rps": float(rps), "p50": int(p50), "p99": int(p99),
                "errors": int(errors), "rss": int(rss),
            })
    return runs


def summarize(rows):
    return {
        "rps": statistics.median(r["rps"] for r in rows),
        "p50": statistics.median(r["p50"] for r in rows),
        "p99": statistics.median(r["p99"] for r in rows),
        "errors": sum(r["errors"] for r in rows),
        "rss": max(r["rss"] for r in rows),
        "runs": len(rows),
    }


def ms(us):
    return f"{us / 1000:.2f} ms"


def mb(kb):
    return f"{kb / 1024:.1f} MB"


def main():
    runs = read_runs(sys.argv[1])
    meta = read_meta(sys.argv[2])
    summary = {key: summarize(rows) for key, rows in runs.items()}
    out = []
    w = out.append

    w(f"# Tessera benchmark, {meta['date']}")
    w("")
    w(f"- commit: `{meta['commit']}`{' plus uncommitted changes under crates/ (built from the work tree)' if meta.get('dirty') == 'yes' else ''}")
    w(f"- machine: {meta['nproc']} cores, {meta['cpu']}, {meta['memory']}")
    w(f"- peer: oidc-provider {meta['peer_version']} on Node.js {meta['node_version']}, "
      f"{meta['peer_workers']} worker processes (node:cluster)")
    w(f"- load: wrk {meta['wrk_version']}, {meta['wrk_threads']} thread(s), {meta['wrk_connections']} "
      f"keep-alive connections, {meta['duration']} per run, {meta['rounds']} rounds per scenario, "
      f"A/B interleaved, medians shown; a {meta['warmup']} warm-up per server and scenario is not counted")
    w(f"- load average before / after: {meta['loadavg_start']} / {meta['loadavg_end']}")
    w("")
    w("**Noise.** This is a 2-core machine: wrk, the server under test and anything else "
      "running (here, other builds may run at the same time) share both cores, so the "
      "figures are noisy and lower than on a dedicated host. Compare ratios within one run "
      "rather than absolute figures across runs.")
    w("")
    w("| scenario | server | req/s | p50 | p99 | errors | peak RSS | Tessera/peer |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")

    def row(label, server, key, ratio_to=None, ratio_suffix=""):
        s = summary.get(key)
        if s is None:
            return
        ratio = ""
        if ratio_to and ratio_to in summary and summary[ratio_to]["rps"] > 0:
            ratio = f"{s['rps'] / summary[ratio_to]['rps']:.2f}x{ratio_suffix}"
        rps = f"{s['rps']:,.0f}"
        if s["errors"]:
            rps = f"INVALID ({rps})"
        w(f"| {label} | {server} | {rps} | {ms(s['p50'])} | {ms(s['p99'])} | "
          f"{s['errors']} | {mb(s['rss'])} | {ratio} |")

    def blank(label, server, text):
        w(f"| {label} | {server} | {text} | | | | | |")

    scale_server = f"Tessera (SQLite, {int(meta['scale_clients']):,} clients)"
    for key, label in SCENARIOS:
        row(label, TESSERA, (key, TESSERA), (key, PEER))
        if key == "client_credentials":
            if (key, TESSERA_PG) in summary:
                row(label, TESSERA_PG, (key, TESSERA_PG), (key, PEER))
            else:
                blank(label, TESSERA_PG, f"not measured: {meta.get('postgres_note') or 'PostgreSQL not reachable'}")
        row(label, PEER, (key, PEER))
        for other_label, server, why in not_yet(meta).get(key, []):
            blank(other_label or label, server, why)
        if key == "client_credentials":
            many = "client_credentials_many"
            many_label = (f"client_credentials, each request the next of "
                          f"{int(meta['scale_sample']):,} clients (1 client on the first row)")
            if (many, scale_server) in summary:
                row(many_label, f"{TESSERA}, 1 client", (many, TESSERA))
                row(many_label, scale_server, (many, scale_server), (many, TESSERA), " of 1 client")
            else:
                blank("client_credentials with many registered clients", TESSERA, "not measured (BENCH_SCALE_CLIENTS=0)")
    w(f"| idle RSS after start | {TESSERA} | | | | | {mb(int(meta['idle_rss_tessera_kb']))} | |")
    if meta.get("idle_rss_tessera_pg_kb"):
        w(f"| idle RSS after start | {TESSERA_PG} | | | | | {mb(int(meta['idle_rss_tessera_pg_kb']))} | |")
    w(f"| idle RSS after start | {PEER} | | | | | {mb(int(meta['idle_rss_peer_kb']))} | |")
    ceiling = float(meta["signing_ceiling"])
    w(f"| ES256 signing ceiling (aws-lc-rs {meta['aws_lc_rs_version']}, 1 thread, 300-byte message) "
      f"| signs/s | {ceiling:,.0f} | | | | | |")
    w("")
    w("Peak RSS is the high-water mark (VmHWM) during the run, reset before each run; "
      "for the peer it is the sum over its primary and worker processes. Errors are "
      "non-200 answers, answers without the expected body (an access token, "
      "`\"active\":true`, the keys, the issuer) and socket errors; a run with any is "
      "marked INVALID.")
    w("")
    w("Notes on the scenarios:")
    w("")
    w("- The peer's client_credentials tokens are ES256 JWTs (`accessTokenFormat: 'jwt'` for a resource "
      "indicator chosen by default), like Tessera's; it does not store them.")
    w("- oidc-provider refuses to introspect JWT access tokens (`unsupported_token_type`: "
      "\"Structured JWT Tokens cannot be introspected\"), so its introspection row uses an "
      "opaque client_credentials token of a second resource. Looking it up is a map read in "
      "the worker's memory (every worker holds a copy), so the peer's row is a lower bound "
      "on its cost. Tessera's row introspects its ES256 JWT (signature verification, "
      "revocation and client lookups).")
    w("- RS256: the peer signs with a second resource indicator configured for RS256.")
    if meta["scale_clients"] != "0":
        w(f"- The many-clients rows are Tessera alone: {int(meta['scale_clients']):,} clients bulk-inserted "
          "into SQLite (copies of a CLI-made client, see bench/seed_clients.py), wrk sending each "
          f"request as the next of {int(meta['scale_sample']):,} of them spread over the whole table; "
          "the first row runs the same script with the one client of the ordinary database.")
    w("- Code flow: one user signs in (argon2id, once) and consents once before the runs; "
      "wrk then alternates GET /authorize, answered at once with a redirect carrying a code, "
      "and POST /token for that code with its PKCE verifier (client_secret_basic), so a flow "
      "is two requests and the rate is completed flows per second. p50/p99 are per request. "
      "The peer signs in and grants through an interaction route of the bench's own "
      "(bench/peer/server.mjs), used only during the setup.")
    w("- The peer's cluster workers share stored artifacts (codes, sessions, grants, opaque "
      "tokens) through the primary process: each write waits until every worker holds it, "
      "as with a shared store; reads are local.")
    if meta.get("peer_runtime_warning"):
        w(f"- oidc-provider warns: \"{meta['peer_runtime_warning']}\"")
    w("")

    # Targets from the issue, each judged from the figures above.
    w("## Targets")
    w("")
    w("| target | measured | verdict |")
    w("|---|---|---|")

    def verdict(ok):
        return "met" if ok else "missed"

    cc = summary.get(("client_credentials", TESSERA))
    cc_peer = summary.get(("client_credentials", PEER))
    intro = summary.get(("introspection", TESSERA))
    lone = summary.get(("code_flow_1conn", TESSERA))
    if cc and cc_peer:
        ratio = cc["rps"] / cc_peer["rps"]
        w(f"| client_credentials >= 10x the peer's, same run | {ratio:.1f}x "
          f"({cc['rps']:,.0f} vs {cc_peer['rps']:,.0f} req/s) | {verdict(ratio >= 10)} |")
    if cc:
        share = cc["rps"] / ceiling
        w(f"| client_credentials >= 50% of the signing ceiling | {share:.0%} of {ceiling:,.0f} "
          f"signs/s (one core) | {verdict(share >= 0.5)} |")
    if cc and intro:
        w(f"| introspection >= client_credentials | {intro['rps']:,.0f} vs {cc['rps']:,.0f} req/s "
          f"| {verdict(intro['rps'] >= cc['rps'])} |")
    if lone:
        # One connection: flows run back to back, so 1/rate is the mean time of a flow.
        mean_flow_ms = 1000 / lone["rps"] if lone["rps"] else float("inf")
        w(f"| code flow's server side in a few ms at p99 (read here as < 5 ms for a flow) | "
          f"one connection: {mean_flow_ms:.2f} ms per flow on average; p99 of its requests "
          f"{ms(lone['p99'])}, twice that (a flow is 2 requests) {2 * lone['p99'] / 1000:.2f} ms "
          f"| {verdict(2 * lone['p99'] < 5000)} |")
    tessera_peaks = [s["rss"] for (key, server), s in summary.items() if server.startswith("Tessera")]
    if tessera_peaks:
        peak = max(tessera_peaks)
        w(f"| Tessera RSS under load < 100 MB | {mb(peak)} (highest peak of any scenario) "
          f"| {verdict(peak < 100 * 1024)} |")
    idle = int(meta["idle_rss_tessera_kb"])
    w(f"| Tessera idle RSS < 30 MB | {mb(idle)} (SQLite) | {verdict(idle < 30 * 1024)} |")
    many = summary.get(("client_credentials_many", scale_server))
    many_base = summary.get(("client_credentials_many", TESSERA))
    if many and many_base:
        w(f"| cost grows with log(n) or better in registered clients | {int(meta['scale_clients']):,} "
          f"clients: {many['rps']:,.0f} req/s, {many['rps'] / many_base['rps']:.0%} of 1 client's "
          f"{many_base['rps']:,.0f} (p99 {ms(many['p99'])} vs {ms(many_base['p99'])}) | "
          "no pass mark: two sizes, read the ratio |")
    invalid = [f"{k[0]} / {k[1]}" for k, s in summary.items() if s["errors"]]
    w("")
    if invalid:
        w(f"**Invalid runs (errors):** {', '.join(invalid)}.")
    else:
        w("All runs completed without errors.")
    w("")

    w("## Every run")
    w("")
    w("| scenario | server | round | req/s | p50 | p99 | errors | peak RSS |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    for (key, server), rows in runs.items():
        for r in rows:
            w(f"| {key} | {server} | {r['round']} | {r['rps']:,.0f} | {ms(r['p50'])} | "
              f"{ms(r['p99'])} | {r['errors']} | {mb(r['rss'])} |")
    w("")
    w(f"Signing ceiling rounds: {meta['signing_rounds']}")
    w("")
    print("\n".join(out))
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
