"""Load benchmark of the class's hub (`make class-bench`, as root): a class arriving.

N simulated students (default 20; CLASS_BENCH_STUDENTS or --students), one every --stagger
seconds (default 3), each: log in with a password through the hub's login form, start the
server and wait until it answers (login-to-ready), fetch 06_complexity from the exchange, write
the answers into it, execute it in a new kernel of their own server over the kernel websocket
(execute: kernel start + every code cell), save and submit it (submit). Their servers stay up
to the end, like a class in a lab session. A sampler reads, every second, the memory of every
student's processes (RSS, and PSS: shared pages split between the processes sharing them).

The class is its own (classroom/class.sh setup with CLASS_ROOT=/srv/swin-class-bench, users
swbench-*), removed at the end. Prints a table and saves classroom/.build/bench.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import pwd
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from hubclient import Hub, answer, solutions  # noqa: E402

ASSIGNMENT = "06_complexity"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
CLASS_SH = HERE / "class.sh"
TEACH_SH = HERE / "teach.sh"
OUT = HERE / ".build" / "bench.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_of(uid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of all processes owned by `uid`."""
    rss = pss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return rss, pss


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def meminfo() -> dict[str, int]:
    info = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, value = line.split(":", 1)
        info[name] = int(value.split()[0]) * 1024
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int,
                        default=int(os.environ.get("CLASS_BENCH_STUDENTS", "20")))
    parser.add_argument("--stagger", type=float,
                        default=float(os.environ.get("CLASS_BENCH_STAGGER", "3")))
    parser.add_argument("--keep", action="store_true", help="keep the class afterwards")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("class-bench creates system users: run it as root")
    if args.students < 1:
        sys.exit("--students must be at least 1")

    root = Path("/srv/swin-class-bench")
    names = [f"s{i:02d}" for i in range(1, args.students + 1)]
    env = dict(os.environ, CLASS_ROOT=str(root), CLASS_PREFIX="swbench-",
               CLASS_INSTRUCTOR="teacher", CLASS_STUDENTS=" ".join(names),
               CLASS_IP="127.0.0.1", CLASS_PORT=str(free_port()),
               CLASS_HUB_PORT=str(free_port()), CLASS_PROXY_API_PORT=str(free_port()),
               EXCHANGE_ROOT=str(root / "exchange"), CLASS_ASSIGNMENTS=ASSIGNMENT)
    logins: dict = {}
    subprocess.run(["bash", str(CLASS_SH), "destroy"], env=env, capture_output=True)
    print(f"[bench] setting up a class of {args.students} (classroom/class.sh setup)", flush=True)
    subprocess.run(["bash", str(CLASS_SH), "setup"], env=env, check=True)
    logins = json.loads((root / "hub" / "logins.json").read_text())
    hub = Hub(f"http://127.0.0.1:{env['CLASS_PORT']}/", logins["admin_token"])
    log_path = root / "hub" / "bench-hub.log"
    hub_process = subprocess.Popen(["bash", str(CLASS_SH), "hub"], env=env,
                                   stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
    results: dict[str, dict] = {}
    peaks: dict[str, tuple[int, int]] = {}
    stop_sampling = threading.Event()
    baseline = meminfo()
    try:
        deadline = time.monotonic() + 120
        while not hub.alive():
            if time.monotonic() > deadline or hub_process.poll() is not None:
                raise RuntimeError(f"the hub did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        subprocess.run(["bash", str(TEACH_SH), "release", ASSIGNMENT], env=env, check=True,
                       capture_output=True)
        correct = solutions(REPO / "notebooks" / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        students = logins["students"]
        uids = {name: pwd.getpwnam(name).pw_uid for name in students}

        def sample() -> None:
            while not stop_sampling.is_set():
                for name, uid in uids.items():
                    rss, pss = memory_of(uid)
                    old = peaks.get(name, (0, 0))
                    peaks[name] = (max(old[0], rss), max(old[1], pss))
                stop_sampling.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        def student_run(name: str, delay: float) -> None:
            time.sleep(delay)
            record: dict = {"start": time.time()}
            results[name] = record
            try:
                t0 = time.perf_counter()
                student = hub.login(name, logins["passwords"][name])
                student.start(timeout_s=600)
                record["login_to_ready"] = time.perf_counter() - t0
                student.fetch(ASSIGNMENT)
                nb = answer(student.read_notebook(NOTEBOOK), correct)
                t1 = time.perf_counter()
                errors = student.execute_notebook(nb, timeout_s=900)
                record["execute"] = time.perf_counter() - t1
                if errors:
                    raise RuntimeError(f"cells failed: {errors}")
                student.write_notebook(NOTEBOOK, nb)
                t2 = time.perf_counter()
                student.submit(ASSIGNMENT)
                record["submit"] = time.perf_counter() - t2
                record["ok"] = True
            except Exception as error:
                record["ok"] = False
                record["error"] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
            status = "ok" if record["ok"] else f"FAILED ({record['error'][:120]})"
            print(f"[bench] {name}: " + ", ".join(
                f"{k} {record[k]:.1f} s" for k in ("login_to_ready", "execute", "submit")
                if k in record) + f" -- {status}", flush=True)

        start = time.perf_counter()
        threads = [threading.Thread(target=student_run, args=(name, i * args.stagger))
                   for i, name in enumerate(students)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        # Idle memory: the servers of the whole class, kernels shut down.
        time.sleep(3)
        idle = {name: memory_of(uid) for name, uid in uids.items()}
        loaded = meminfo()
        stop_sampling.set()
        sampler.join()
        inbound = root / "exchange" / "swin-edu" / "inbound"
        landed = {p.name.split("+")[0] for p in inbound.iterdir()} if inbound.is_dir() else set()
    finally:
        stop_sampling.set()
        for name in (logins["students"] if logins else []):
            try:
                hub.api("DELETE", f"users/{name}/server")
            except Exception:
                pass
        time.sleep(2)
        if hub_process.poll() is None:
            os.killpg(hub_process.pid, signal.SIGTERM)
            hub_process.wait(timeout=60)
        if not args.keep:
            subprocess.run(["bash", str(CLASS_SH), "destroy"], env=env, capture_output=True)

    ok = [r for r in results.values() if r.get("ok")]
    failures = {n: r.get("error", "did not finish") for n, r in results.items() if not r.get("ok")}
    missing = sorted(set(students) - landed)
    mib = 1024 ** 2

    def stats(key: str) -> dict[str, float]:
        values = [r[key] for r in ok if key in r]
        return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
                "max": max(values) if values else float("nan")}

    peak_rss = [v[0] / mib for v in peaks.values()]
    peak_pss = [v[1] / mib for v in peaks.values()]
    idle_rss = [v[0] / mib for v in idle.values()]
    idle_pss = [v[1] / mib for v in idle.values()]
    report = {
        "date": dt.datetime.now().isoformat(timespec="minutes"),
        "machine": {"cpus": os.cpu_count(), "mem_total_gib": round(baseline["MemTotal"] / 1024**3, 1),
                    "platform": platform.platform()},
        "students": args.students, "stagger_s": args.stagger, "wall_s": wall,
        "login_to_ready_s": stats("login_to_ready"), "execute_s": stats("execute"),
        "submit_s": stats("submit"),
        "peak_rss_mib": {"p50": percentile(peak_rss, 0.5), "p95": percentile(peak_rss, 0.95)},
        "peak_pss_mib": {"p50": percentile(peak_pss, 0.5), "p95": percentile(peak_pss, 0.95)},
        "idle_rss_mib": {"p50": percentile(idle_rss, 0.5), "p95": percentile(idle_rss, 0.95)},
        "idle_pss_mib": {"p50": percentile(idle_pss, 0.5), "p95": percentile(idle_pss, 0.95)},
        "machine_used_gib_with_class_idle": round(
            (baseline["MemAvailable"] - loaded["MemAvailable"]) / 1024**3, 2),
        "failures": failures, "submissions_missing": missing,
    }
    # Students per 2-core / 8 GiB node: memory with every student's kernel alive (peak PSS,
    # p95), 1 GiB kept for the system, the hub and the proxy.
    per_user = report["peak_pss_mib"]["p95"]
    report["students_per_8gib_node_by_memory"] = int((7 * 1024) // per_user) if per_user else None
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nclass bench: {args.students} students, one every {args.stagger:g} s, "
          f"{report['date']}, {report['machine']['cpus']} CPUs, "
          f"{report['machine']['mem_total_gib']} GiB")
    print("| measure | p50 | p95 | max |\n|---|---|---|---|")
    for key, label in (("login_to_ready_s", "login to ready (s)"), ("execute_s", "execute (s)"),
                       ("submit_s", "submit (s)")):
        s = report[key]
        print(f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} |")
    for key, label in (("peak_rss_mib", "memory per student, kernel running, RSS (MiB)"),
                       ("peak_pss_mib", "memory per student, kernel running, PSS (MiB)"),
                       ("idle_rss_mib", "memory per student, server idle, RSS (MiB)"),
                       ("idle_pss_mib", "memory per student, server idle, PSS (MiB)")):
        s = report[key]
        print(f"| {label} | {s['p50']:.0f} | {s['p95']:.0f} | |")
    print(f"failures: {len(failures)} {failures if failures else ''}; "
          f"submissions missing: {missing or 'none'}; wall {wall:.0f} s; "
          f"by memory ~{report['students_per_8gib_node_by_memory']} students per 8 GiB node")
    print(f"saved {OUT}")
    return 1 if failures or missing else 0


if __name__ == "__main__":
    sys.exit(main())
