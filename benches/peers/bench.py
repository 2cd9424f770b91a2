"""The load driver of benches/peers: runs every measurement against the mock alone, LiteLLM and
reelvault, one after the other, and prints one table. Started by benches/peers/run, which has
started the mock and cleans up after it; the gateways are started here, each in a session of its
own whose id is written to PIDS_FILE so that the run script's trap can stop them too.

Usage: bench.py --mock-port P --mock-pid PID --work DIR --rv-bin BIN --litellm BIN --pids-file F
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter

import aiohttp

ENV = os.environ
SECS = float(ENV.get("PEERS_SECS", "10"))
WARMUP = float(ENV.get("PEERS_WARMUP", "2"))
SERIAL_SECS = float(ENV.get("PEERS_SERIAL_SECS", "5"))
CONCURRENCY = int(ENV.get("PEERS_CONCURRENCY", "32"))
VIDEO_JOBS = int(ENV.get("PEERS_VIDEO_JOBS", "5"))
DOWNLOADERS = int(ENV.get("PEERS_DOWNLOADERS", "8"))
DOWNLOAD_ROUNDS = int(ENV.get("PEERS_DOWNLOAD_ROUNDS", "3"))
SETTLE = float(ENV.get("PEERS_SETTLE", "2"))
QUIET_LIMIT = float(ENV.get("PEERS_QUIET_LIMIT", "30"))
START_TIMEOUT = float(ENV.get("PEERS_START_TIMEOUT", "120"))
VIDEO_TIMEOUT = float(ENV.get("PEERS_VIDEO_TIMEOUT", "60"))
ONLY = ENV.get("PEERS_ONLY", "mock,litellm,reelvault").split(",")
IMAGE_MODEL = ENV.get("PEERS_IMAGE_MODEL", "gpt-image-2")
VIDEO_MODEL = ENV.get("PEERS_VIDEO_MODEL", "sora-2")
VIDEO_BYTES = int(ENV.get("PEERS_VIDEO_MIB", "5")) * 1024 * 1024
HZ = os.sysconf("SC_CLK_TCK")
PROMPT = "a red kite over a grey sea at dawn"


# ---- processes -------------------------------------------------------------------------------


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu(pid: int) -> float:
    """utime + stime of the process tree, in seconds."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / HZ


def tree_rss(pid: int) -> float:
    """VmRSS of the process tree, in MB (10^6 bytes)."""
    total_kib = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kib += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total_kib * 1024 / 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """One gateway process (in a session of its own) and how to reach it."""

    def __init__(self, name, argv, env, port, health, log_path, pids_file, headers):
        self.name, self.port, self.headers = name, port, headers
        self.base = f"http://127.0.0.1:{port}"
        self.health = self.base + health
        log = open(log_path, "wb")
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        with open(pids_file, "a") as f:
            f.write(f"{self.proc.pid}\n")
        self.pid = self.proc.pid

    async def wait_healthy(self, session) -> float:
        deadline = self.spawned + START_TIMEOUT
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was healthy")
            try:
                async with session.get(self.health, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    await r.read()
                    if r.status == 200:
                        return time.perf_counter() - self.spawned
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                pass
            await asyncio.sleep(0.005)
        raise RuntimeError(f"{self.name} was not healthy within {START_TIMEOUT} s")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def start_litellm(args, mock_base: str) -> Gateway:
    config = os.path.join(args.work, "litellm.yaml")
    entries = []
    for name in (IMAGE_MODEL, VIDEO_MODEL):
        entries.append(
            f"  - model_name: {name}\n    litellm_params:\n      model: openai/{name}\n"
            f"      api_base: {mock_base}/v1\n      api_key: sk-mock\n"
        )
    with open(config, "w") as f:
        f.write("model_list:\n" + "".join(entries))
    port = free_port()
    # It refuses to start without a master key (and then checks it on every request, as
    # reelvault checks its API token); the cost map is the copy in the package (no download).
    master_key = "sk-" + os.urandom(24).hex()
    env = dict(ENV, LITELLM_MASTER_KEY=master_key, LITELLM_LOCAL_MODEL_COST_MAP="True")
    argv = [args.litellm, "--config", config, "--host", "127.0.0.1", "--port", str(port)]
    headers = {"Authorization": f"Bearer {master_key}"}
    return Gateway("litellm", argv, env, port, "/health/liveliness", os.path.join(args.work, "litellm.log"), args.pids_file, headers)


def reelvault_cli(args, data_dir, config, *argv, stdin=None) -> str:
    done = subprocess.run(
        [args.rv_bin, *argv, "--data-dir", data_dir, "--config", config],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"reelvault {' '.join(argv[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def start_reelvault(args, mock_base: str) -> Gateway:
    root = os.path.join(args.work, "reelvault")
    data_dir, config = os.path.join(root, "data"), os.path.join(root, "config.toml")
    os.makedirs(root, exist_ok=True)
    with open(config, "w") as f:
        f.write(
            f'[[connection]]\nname = "images"\nkind = "openai_images"\nbase_url = "{mock_base}/v1"\napi_key = "sk-mock"\n'
            "allow_private_network = true\nmax_concurrent = 64\n\n"
            f'[[connection]]\nname = "videos"\nkind = "openai_videos"\nbase_url = "{mock_base}/v1"\napi_key = "sk-mock"\n'
            "allow_private_network = true\nmax_concurrent = 64\n\n"
            "[api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000000\n"
        )
    email = "peers@example.com"
    reelvault_cli(args, data_dir, config, "user", "add", "--email", email, "--role", "admin", "--password-stdin", stdin="peers-bench-password-long-1\n")
    reelvault_cli(args, data_dir, config, "credits", "grant", "--email", email, "--amount", "1000000000")
    token = reelvault_cli(args, data_dir, config, "token", "create", "--email", email).strip().splitlines()[0]
    port = free_port()
    env = {k: v for k, v in ENV.items() if k not in ("RUST_LOG", "REELVAULT_CONFIG")}
    env["REELVAULT_CONFIG"] = config
    argv = [args.rv_bin, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"]
    headers = {"Authorization": f"Bearer {token}"}
    return Gateway("reelvault", argv, env, port, "/readyz", os.path.join(root, "serve.log"), args.pids_file, headers)


# ---- measurements ----------------------------------------------------------------------------


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def image_load(session, base, headers, concurrency, warmup, secs, cpu_pid):
    """POST /v1/images/generations from `concurrency` keep-alive clients: warm-up, then `secs`
    measured. Returns (req/s, p50 s, p99 s, non-200 + errors, CPU s of cpu_pid's tree per image)."""
    body = json.dumps({"model": IMAGE_MODEL, "prompt": PROMPT}).encode()
    hdrs = dict(headers, **{"Content-Type": "application/json"})
    url = base + "/v1/images/generations"
    begin = time.perf_counter()
    t_start, t_end = begin + warmup, begin + warmup + secs
    latencies, bad = [], Counter()
    cpu = {}

    async def client():
        while (t0 := time.perf_counter()) < t_end:
            try:
                async with session.post(url, data=body, headers=hdrs) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                bad[type(e).__name__] += 1
                await asyncio.sleep(0.01)
                continue
            t1 = time.perf_counter()
            if t0 >= t_start and t1 <= t_end:
                if status == 200:
                    latencies.append(t1 - t0)
                else:
                    bad[str(status)] += 1

    async def cpu_sampler():
        await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
        cpu["before"] = tree_cpu(cpu_pid) if cpu_pid else 0.0
        await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
        cpu["after"] = tree_cpu(cpu_pid) if cpu_pid else 0.0

    await asyncio.gather(cpu_sampler(), *(client() for _ in range(concurrency)))
    n = len(latencies)
    cpu_per = (cpu["after"] - cpu["before"]) / n if n and cpu_pid else float("nan")
    return {"rate": n / secs, "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99), "bad": dict(bad), "cpu": cpu_per, "n": n}


async def video_flow(session, base, headers):
    """One video: create, poll every 50 ms until completed, download the content. Returns
    (seconds from the create request to the last content byte, the video's id)."""
    t0 = time.perf_counter()
    body = {"model": VIDEO_MODEL, "prompt": PROMPT, "seconds": "4", "size": "720x1280"}
    async with session.post(base + "/v1/videos", json=body, headers=headers) as r:
        created = await r.json(content_type=None)
        if r.status != 200:
            raise RuntimeError(f"POST /v1/videos answered {r.status}: {created}")
    video_id = created["id"]
    while True:
        async with session.get(f"{base}/v1/videos/{video_id}", headers=headers) as r:
            state = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"GET /v1/videos/{video_id} answered {r.status}: {state}")
        if state.get("status") == "completed":
            break
        if state.get("status") == "failed":
            raise RuntimeError(f"video {video_id} failed: {state.get('error')}")
        if time.perf_counter() - t0 > VIDEO_TIMEOUT:
            raise RuntimeError(f"video {video_id} not completed within {VIDEO_TIMEOUT} s")
        await asyncio.sleep(0.05)
    size = await download(session, base, headers, video_id)
    if size != VIDEO_BYTES:
        raise RuntimeError(f"video {video_id}: {size} content bytes, expected {VIDEO_BYTES}")
    return time.perf_counter() - t0, video_id


async def download(session, base, headers, video_id) -> int:
    size = 0
    async with session.get(f"{base}/v1/videos/{video_id}/content", headers=headers) as r:
        if r.status != 200:
            raise RuntimeError(f"GET /v1/videos/{video_id}/content answered {r.status}")
        async for piece in r.content.iter_chunked(256 * 1024):
            size += len(piece)
    return size


async def parallel_downloads(session, base, headers, ids, pid):
    """DOWNLOADERS clients each download DOWNLOAD_ROUNDS videos at once; the tree's RSS is
    sampled every 20 ms. Returns (MB/s, RSS growth MB)."""
    rss0 = tree_rss(pid) if pid else 0.0
    peak = [rss0]
    done = asyncio.Event()

    async def sampler():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(pid))
            await asyncio.sleep(0.02)

    async def client(i):
        total = 0
        for round_ in range(DOWNLOAD_ROUNDS):
            total += await download(session, base, headers, ids[(i + round_) % len(ids)])
        return total

    watcher = asyncio.create_task(sampler()) if pid else None
    t0 = time.perf_counter()
    sizes = await asyncio.gather(*(client(i) for i in range(DOWNLOADERS)))
    elapsed = time.perf_counter() - t0
    done.set()
    if watcher:
        await watcher
    return sum(sizes) / 1e6 / elapsed, peak[0] - rss0


async def first_image(session, base, headers):
    """One image before the load: it must answer 200 with a PNG as `b64_json`."""
    body = {"model": IMAGE_MODEL, "prompt": PROMPT}
    async with session.post(base + "/v1/images/generations", json=body, headers=headers) as r:
        answer = await r.json(content_type=None)
        if r.status != 200:
            raise RuntimeError(f"POST /v1/images/generations answered {r.status}: {str(answer)[:300]}")
    png = base64.b64decode(answer["data"][0]["b64_json"])
    if not png.startswith(b"\x89PNG"):
        raise RuntimeError("the first image's b64_json is not a PNG")
    return len(png)


async def mock_stats(session, mock_base):
    async with session.get(mock_base + "/_mock/stats") as r:
        return await r.json()


async def wait_quiet(name, pid, limit=QUIET_LIMIT):
    """Waits until the gateway's tree uses under 3% of a core over half a second (what the step
    before left to do, such as indexing, is done), at most `limit` seconds; says how long."""
    began = time.perf_counter()
    while pid and time.perf_counter() - began < limit:
        before = tree_cpu(pid)
        await asyncio.sleep(0.5)
        if (tree_cpu(pid) - before) / 0.5 < 0.03:
            break
    print(f"[{name}]   quiet after {time.perf_counter() - began:.1f} s", flush=True)


async def measure(session, name, base, headers, cpu_pid, mock_base):
    out = {}
    print(f"[{name}] first image: 200 with a {await first_image(session, base, headers)} B PNG as b64_json", flush=True)
    print(f"[{name}] images: {CONCURRENCY} concurrent, {WARMUP:g} s warm-up + {SECS:g} s", flush=True)
    out["c"] = await image_load(session, base, headers, CONCURRENCY, WARMUP, SECS, cpu_pid)
    print(f"[{name}]   {out['c']['rate']:.0f} req/s, p99 {out['c']['p99'] * 1e3:.1f} ms, non-200 {out['c']['bad'] or 0}", flush=True)
    await wait_quiet(name, cpu_pid)
    print(f"[{name}] images: 1 at a time, 1 s warm-up + {SERIAL_SECS:g} s", flush=True)
    out["s"] = await image_load(session, base, headers, 1, 1.0, SERIAL_SECS, cpu_pid)
    print(f"[{name}]   p50 {out['s']['p50'] * 1e3:.2f} ms, non-200 {out['s']['bad'] or 0}", flush=True)
    await wait_quiet(name, cpu_pid)
    print(f"[{name}] videos: {VIDEO_JOBS} jobs one after the other, polled every 50 ms", flush=True)
    times, ids = [], []
    polls_before = (await mock_stats(session, mock_base))["video_polls"]
    for _ in range(VIDEO_JOBS):
        took, video_id = await video_flow(session, base, headers)
        times.append(took)
        ids.append(video_id)
    out["video"] = statistics.median(times)
    polls = ((await mock_stats(session, mock_base))["video_polls"] - polls_before) / VIDEO_JOBS
    print(f"[{name}]   created -> content: p50 {out['video']:.2f} s (each: {', '.join(f'{t:.2f}' for t in times)}); "
          f"the mock saw {polls:.1f} status polls per video", flush=True)
    print(f"[{name}] downloads: {DOWNLOADERS} in parallel x {DOWNLOAD_ROUNDS}", flush=True)
    out["dl"], out["dl_rss"] = await parallel_downloads(session, base, headers, ids, cpu_pid)
    print(f"[{name}]   {out['dl']:.0f} MB/s, RSS {out['dl_rss']:+.1f} MB", flush=True)
    return out


async def run_gateway(session, gateway: Gateway, mock_base):
    try:
        healthy = await gateway.wait_healthy(session)
        print(f"[{gateway.name}] healthy after {healthy:.2f} s (pid {gateway.pid})", flush=True)
        await asyncio.sleep(SETTLE)
        idle = tree_rss(gateway.pid)
        out = await measure(session, gateway.name, gateway.base, gateway.headers, gateway.pid, mock_base)
        out["start"], out["idle"] = healthy, idle
        return out
    finally:
        gateway.stop()


# ---- the table -------------------------------------------------------------------------------


def fmt_table(results, litellm_version):
    """One markdown table: a row per measurement, a column per gateway, then the goal."""
    mock = results.get("mock")
    gateways = [(f"LiteLLM {litellm_version} (proxy, no database)", results.get("litellm")), ("reelvault", results.get("reelvault"))]
    ll, rv = (r for _, r in gateways)
    speedup = "—"
    if isinstance(ll, dict) and isinstance(rv, dict) and ll["c"]["rate"] > 0:
        speedup = f"{rv['c']['rate'] / ll['c']['rate']:.1f}×"
    ms = 1e3
    # (label, the mock's cell, a gateway's cell, goal); the cells get a result dict and the mock's
    rows = [
        (f"`POST /v1/images/generations`, {CONCURRENCY} concurrent",
         lambda m: f"{m['c']['rate']:.0f} req/s, p99 {m['c']['p99'] * ms:.0f} ms",
         lambda r, m: f"{r['c']['rate']:.0f} req/s, p99 {r['c']['p99'] * ms:.0f} ms",
         f"≥ 5× LiteLLM (here {speedup})"),
        ("the same, 1 at a time: added latency over the mock alone (p50)",
         lambda m: f"p50 {m['s']['p50'] * ms:.2f} ms",
         # two decimals: a figure next to its goal must not round onto it
         lambda r, m: f"{(r['s']['p50'] - m['s']['p50']) * ms:.2f} ms",
         "≤ 1.5 ms"),
        (f"gateway CPU per image (at {CONCURRENCY} / at 1)",
         lambda m: f"{m['c']['cpu'] * ms:.2f} / {m['s']['cpu'] * ms:.2f} ms (the mock's)",
         lambda r, m: f"{r['c']['cpu'] * ms:.2f} / {r['s']['cpu'] * ms:.2f} ms",
         "≤ 1.5 ms"),
        ("`/v1/videos`: created → content downloadable, over the mock alone (p50)",
         lambda m: f"{m['video']:.2f} s",
         lambda r, m: f"{r['video'] - m['video']:+.2f} s",
         "≤ +0.3 s"),
        (f"`/v1/videos` download, {DOWNLOADERS} in parallel",
         lambda m: f"{m['dl']:.0f} MB/s, RSS {m['dl_rss']:+.0f} MB",
         lambda r, m: f"{r['dl']:.0f} MB/s, RSS {r['dl_rss']:+.0f} MB",
         "keep"),
        ("idle RSS / start to healthy",
         lambda m: "",
         lambda r, m: f"{r['idle']:.1f} MB / {r['start']:.2f} s",
         "keep"),
    ]

    def cell(f, *results):
        if isinstance(results[0], str):  # a failed gateway: its reason
            return results[0]
        try:
            return f(*results)
        except (KeyError, TypeError):  # not measured (PEERS_ONLY), or needs the mock's figure
            return "—"

    header = "| | mock alone | " + " | ".join(name for name, _ in gateways) + " | goal |"
    lines = [header, "|---" * (len(gateways) + 3) + "|"]
    for label, mock_cell, gateway_cell, goal in rows:
        cells = [cell(mock_cell, mock)] + [cell(gateway_cell, r, mock) for _, r in gateways]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    return "\n".join(lines)


async def main():
    p = argparse.ArgumentParser()
    for flag in ("--mock-port", "--mock-pid", "--work", "--rv-bin", "--litellm", "--pids-file", "--litellm-version", "--network"):
        p.add_argument(flag, required=True)
    args = p.parse_args()
    mock_base = f"http://127.0.0.1:{args.mock_port}"
    results = {}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if "mock" in ONLY:
            results["mock"] = await measure(session, "mock", mock_base, {}, int(args.mock_pid), mock_base)
        for name, start in (("litellm", start_litellm), ("reelvault", start_reelvault)):
            if name not in ONLY:
                continue
            try:
                results[name] = await run_gateway(session, start(args, mock_base), mock_base)
            except Exception as e:  # one gateway failing still leaves the other's figures
                print(f"[{name}] FAILED: {e}", flush=True)
                results[name] = f"failed: {str(e)[:80]}"
    print()
    print(f"benches/peers, {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPU(s), network: {args.network}")
    print(f"images: {WARMUP:g} s warm-up + {SECS:g} s at {CONCURRENCY}, 1 s + {SERIAL_SECS:g} s at 1; videos ready "
          f"{ENV.get('PEERS_READY_SECS', '1.0')} s after creation, {VIDEO_JOBS} jobs, {VIDEO_BYTES // 1048576} MiB each")
    print()
    print(fmt_table(results, args.litellm_version))


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
