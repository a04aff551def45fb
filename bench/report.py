#!/usr/bin/env python3
"""Turn the raw per-run figures of bench/run.sh into the Markdown results file.

Usage: report.py RUNS_TSV META_FILE > results.md

RUNS_TSV has one line per wrk run:
    scenario  server  round  rps  p50_us  p99_us  errors  peak_rss_kb  flow_p50_us  flow_p99_us
(the flow columns are empty unless the run timed whole code flows).
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
    ("refresh", "refresh_token grant (rotating), Basic auth, ES256 JWT"),
    ("code_flow", "code flow, server side (authorize + token), flows/s"),
    ("code_flow_1conn", "code flow, server side, one connection, flows/s"),
    ("introspection", "introspection of an access token"),
    ("jwks", "GET /jwks.json"),
    ("discovery", "GET /.well-known/openid-configuration"),
]


GUARD = "tessera-guard, 1 thread"
# (meta key, label) of the guard's criterion medians, in table order.
GUARD_ROWS = [
    ("guard_first_ns", "guard validation of a token, key cached, first sight (signature checked)"),
    ("guard_repeat_ns", "guard validation of a token, key cached, token seen before (verified-token cache)"),
    ("guard_verify_floor_ns", "aws-lc-rs ES256 verify alone (the floor of the first)"),
]


def guard_medians(meta):
    """The guard's three criterion medians in ns, or None and why not. What
    Tessera offers is read from its source tree in this run, so the reason
    stays true as Tessera grows."""
    if meta.get("has_guard") != "yes":
        return None, "not yet available: there is no tessera-guard crate at this commit"
    try:
        return {key: float(meta[key]) for key, _ in GUARD_ROWS}, None
    except (KeyError, ValueError):
        # The note may quote a compiler error: no pipe may end the table's cell.
        why = (meta.get("guard_note") or "this run recorded no guard figures").replace("|", "\\|")
        return None, f"not measured: {why}"


def us(ns):
    return f"{ns / 1000:.2f} µs"


def scale_pairs(meta):
    """(ordinary store's row, scale store's row) for each scale store run."""
    pairs = []
    if meta.get("scale_server_sqlite"):
        pairs.append((TESSERA, meta["scale_server_sqlite"]))
    if meta.get("scale_server_pg"):
        pairs.append((TESSERA_PG, meta["scale_server_pg"]))
    return pairs


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
            fields = line.rstrip("\n").split("\t")
            scenario, server, rnd, rps, p50, p99, errors, rss = fields[:8]
            flow_p50, flow_p99 = (fields[8:10] + ["", ""])[:2]
            runs.setdefault((scenario, server), []).append({
                "round": int(rnd), "rps": float(rps), "p50": int(p50), "p99": int(p99),
                "errors": int(errors), "rss": int(rss),
                "flow_p50": int(flow_p50) if flow_p50 else None,
                "flow_p99": int(flow_p99) if flow_p99 else None,
            })
    return runs


def summarize(rows):
    flow_p99s = [r["flow_p99"] for r in rows if r["flow_p99"] is not None]
    flow_p50s = [r["flow_p50"] for r in rows if r["flow_p50"] is not None]
    return {
        "flow_p50": statistics.median(flow_p50s) if flow_p50s else None,
        "flow_p99": statistics.median(flow_p99s) if flow_p99s else None,
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

    guard, guard_why = guard_medians(meta)
    pairs = scale_pairs(meta)
    scale_clients = int(meta.get("scale_clients") or 0)
    scale_refresh = int(meta.get("scale_refresh_tokens") or 0)
    for key, label in SCENARIOS:
        row(label, TESSERA, (key, TESSERA), (key, PEER))
        if key in ("client_credentials", "refresh"):
            if (key, TESSERA_PG) in summary:
                row(label, TESSERA_PG, (key, TESSERA_PG), (key, PEER))
            elif meta.get("postgres_note"):
                blank(label, TESSERA_PG, f"not measured: {meta['postgres_note']}")
        row(label, PEER, (key, PEER))
        if key == "refresh":
            for empty, scale in pairs:
                row(label, scale, (key, scale), (key, empty), " of empty store")
        if key == "discovery":
            if guard:
                floor_server = f"aws-lc-rs {meta.get('aws_lc_rs_version', '')}, 1 thread"
                for guard_key, guard_label in GUARD_ROWS:
                    server = floor_server if guard_key == "guard_verify_floor_ns" else GUARD
                    w(f"| {guard_label} | {server} | | {us(guard[guard_key])} | | | | |")
            else:
                blank("guard validation of a token", GUARD, guard_why)
        if key == "client_credentials":
            many = "client_credentials_many"
            if scale_clients:
                many_label = (f"client_credentials, each request the next of "
                              f"{int(meta['scale_sample']):,} clients (1 client on the empty store's row)")
            else:
                many_label = "client_credentials, one client (token_many.lua)"
            measured = [(empty, scale) for empty, scale in pairs if (many, scale) in summary]
            for empty, scale in measured:
                row(many_label, f"{empty}, 1 client", (many, empty))
                row(many_label, scale, (many, scale), (many, empty), " of empty store")
            if not measured:
                blank("client_credentials with a big store", TESSERA,
                      "not measured (BENCH_SCALE_CLIENTS=0 and BENCH_SCALE_REFRESH_TOKENS=0)")
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
    w(f"- RS256: both servers sign with RS256 for one resource indicator (`{meta.get('rs256_resource', '')}`), "
      "requested with `resource=`: Tessera through its `[resources]` configuration (`signing_alg = "
      "\"RS256\"`) and a client registered for that resource, the peer through its resource server "
      "settings.")
    w(f"- Refresh grant: each wrk run starts with {int(meta.get('refresh_pool') or 0):,} fresh refresh "
      "tokens got by real code flows (bench/refresh_pool.py, outside the measured time); each request "
      "presents one, and the successor in its answer goes back into the pool (bench/wrk/refresh.lua), "
      "so every request is a first use and a rotation: the old token marked rotated, its successor "
      "stored, an ES256 access token signed. A refused refresh counts as an error, and so does a run "
      "whose pool cannot be filled (the server refused or timed out a code flow): it is recorded as "
      "0 req/s with one error. Both servers rotate on every use (the peer with "
      "`rotateRefreshToken: true`; it issues refresh tokens to the client without `offline_access`, "
      "as Tessera does outside OpenID requests). The ordinary stores are empty at the start of the "
      "scenario and keep the rotated tokens of the earlier runs (some hundred thousand rows by the end).")
    if pairs:
        sizes = []
        if scale_clients:
            sizes.append(f"{scale_clients:,} clients (copies of a CLI-made client, bench/seed_clients.py)")
        if scale_refresh:
            sizes.append(f"{scale_refresh:,} refresh tokens (families of five, four rotated and one live, "
                         "a third of them expired, one in 50 revoked, spread over the clients and "
                         f"{scale_refresh // 20:,} users; bench/seed_refresh_tokens.py)")
        seeded = [f"{backend} {meta[key]} s" for backend, key in
                  (("SQLite", "seed_seconds_sqlite"), ("PostgreSQL", "seed_seconds_pg")) if meta.get(key)]
        w(f"- The scale rows are Tessera alone, on stores bulk-loaded with {' and '.join(sizes)}"
          f"{' (seeding took ' + ', '.join(seeded) + ')' if seeded else ''}. The client_credentials "
          f"pair runs one script on both stores, each request as the next of a list of clients: "
          f"{int(meta['scale_sample']):,} of the seeded ones spread over the whole table, or the "
          "empty store's one client. The refresh rows present real tokens, issued by code flows, "
          "among the seeded ones. Ratios are to the same backend's empty store, same run.")
    w("- Code flow: one user signs in (argon2id, once) and consents once before the runs; "
      "wrk then alternates GET /authorize, answered at once with a redirect carrying a code, "
      "and POST /token for that code with its PKCE verifier (client_secret_basic), so a flow "
      "is two requests and the rate is completed flows per second. p50/p99 in the table are per "
      "request; on one connection wrk also times each flow whole, from building its "
      "authorization request to reading its token answer, and the target below uses those. "
      "The peer signs in and grants through an interaction route of the bench's own "
      "(bench/peer/server.mjs), used only during the setup.")
    if guard:
        below = ""
        if guard["guard_first_ns"] < guard["guard_verify_floor_ns"]:
            below = " (the first is below it here: the two are separate measurements, and the difference is noise)"
        w(f"- The guard rows are not wrk runs: they are criterion medians (criterion "
          f"{meta.get('criterion_version', '')}, {meta.get('guard_settings', '')}) of one thread calling "
          "`Guard::validate` in process on a valid ES256 access token whose key is already cached "
          "(crates/tessera-guard/benches/validate.rs), measured before any server started; their "
          "figure in the p50 column is that median. The first row checks the signature (the "
          "verified-token cache off), the second finds the token in that cache, and the third is "
          "the bare P-256 signature check, which bounds the first from below"
          f"{below}.")
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
    if lone and lone["flow_p99"] is not None:
        lone_peer = summary.get(("code_flow_1conn", PEER))
        peer_flow = ""
        if lone_peer and lone_peer["flow_p99"] is not None:
            peer_flow = f"; the peer's {ms(lone_peer['flow_p99'])}"
        w(f"| code flow's server side in a few ms at p99 (read here as < 5 ms for a flow) | "
          f"one connection, each flow timed whole by wrk (authorize + token): p99 {ms(lone['flow_p99'])}, "
          f"p50 {ms(lone['flow_p50'])}{peer_flow} | {verdict(lone['flow_p99'] < 5000)} |")
    elif lone:
        # An older run without whole-flow times: bound a flow by twice its requests' p99.
        w(f"| code flow's server side in a few ms at p99 (read here as < 5 ms for a flow) | "
          f"one connection: p99 of its requests {ms(lone['p99'])}, twice that (a flow is 2 requests) "
          f"{2 * lone['p99'] / 1000:.2f} ms | {verdict(2 * lone['p99'] < 5000)} |")
    tessera_peaks = [s["rss"] for (key, server), s in summary.items() if server.startswith("Tessera")]
    if tessera_peaks:
        peak = max(tessera_peaks)
        w(f"| Tessera RSS under load < 100 MB | {mb(peak)} (highest peak of any scenario) "
          f"| {verdict(peak < 100 * 1024)} |")
    idle = int(meta["idle_rss_tessera_kb"])
    w(f"| Tessera idle RSS < 30 MB | {mb(idle)} (SQLite) | {verdict(idle < 30 * 1024)} |")
    if guard:
        repeat, first, floor = (guard[k] for k in ("guard_repeat_ns", "guard_first_ns", "guard_verify_floor_ns"))
        w(f"| guard validation < 20 µs | token seen before {us(repeat)}; first sight {us(first)}, "
          f"bounded below by the signature check alone, {us(floor)} (criterion medians, one thread) "
          f"| {verdict(repeat < 20_000)} |")
    else:
        w(f"| guard validation < 20 µs | {guard_why} | not judged |")
    full_size = scale_clients >= 1_000_000 and scale_refresh >= 10_000_000
    for empty, scale in pairs:
        parts, shares = [], []
        for key, name in (("client_credentials_many", "client_credentials"), ("refresh", "refresh")):
            big, base = summary.get((key, scale)), summary.get((key, empty))
            if big and base and base["rps"]:
                share = big["rps"] / base["rps"]
                shares.append(share)
                parts.append(f"{name} {share:.0%} ({big['rps']:,.0f} vs {base['rps']:,.0f} req/s, "
                             f"p99 {ms(big['p99'])} vs {ms(base['p99'])})")
        if not parts:
            continue
        if full_size and len(shares) == 2:
            judged = verdict(min(shares) >= 0.8)
        elif full_size:
            judged = "not judged: a scenario was not run"
        else:
            judged = "not judged: a smaller store than the target's"
        backend = "PostgreSQL" if empty == TESSERA_PG else "SQLite"
        w(f"| with 1M clients and 10M refresh tokens, client_credentials and refresh >= 80% of the "
          f"empty store's ({backend}) | {scale.split('(', 1)[1].rstrip(')')}: {'; '.join(parts)} | {judged} |")
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
