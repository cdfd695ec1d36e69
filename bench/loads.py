"""Running h2load and pgbench for a fixed time, lane by lane, and reading their results."""

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.baseline import Script
from bench.calls import frame

_H2_REQUESTS = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
    r"(\d+) errored, (\d+) timeout"
)
_H2_RATE = re.compile(r"finished in ([\d.]+)(?:ms|s), ([\d.]+) req/s")
_H2_DATA = re.compile(r"traffic: .* \((\d+)\) data")
_PG_DONE = re.compile(r"number of transactions actually processed: (\d+)")
_PG_FAILED = re.compile(r"number of failed transactions: (\d+)")
_PG_TPS = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")


@dataclass
class Measurement:
    """What one tool did for one call at one concurrency, summed over its lanes."""

    tool: str
    call: str
    concurrency: int
    completed: int = 0
    failed: int = 0
    rate: float = 0.0
    data_bytes: int = 0
    latencies_us: list[int] = field(default_factory=list, repr=False)

    @property
    def latencies_known(self) -> bool:
        """Whether the per-request log holds real latencies. pgbench reads its clock lazily, and
        logs 0 µs for many sub-0.1 ms transactions: percentiles of such a log would be made up."""
        zeros = sum(1 for latency in self.latencies_us if latency == 0)
        return bool(self.latencies_us) and zeros <= 0.01 * len(self.latencies_us)

    def mean(self) -> float | None:
        """Mean latency (ms) from the per-request log, when it is trustworthy."""
        if not self.latencies_known:
            return None
        return sum(self.latencies_us) / len(self.latencies_us) / 1000

    def percentile(self, fraction: float) -> float | None:
        """The latency (ms) below which `fraction` of the requests finished (nearest rank)."""
        if not self.latencies_known:
            return None
        ordered = sorted(self.latencies_us)
        rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
        return ordered[rank] / 1000


def split(concurrency: int, lanes: int) -> list[int]:
    """Clients per lane: `concurrency` spread as evenly as possible over at most `lanes`."""
    used = min(concurrency, lanes)
    return [concurrency // used + (i < concurrency % used) for i in range(used)]


def _slug(label: str, concurrency: int, lane: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-')}-c{concurrency}-lane{lane}"


def _match(pattern: re.Pattern[str], text: str, what: str) -> re.Match[str]:
    found = pattern.search(text)
    if found is None:
        raise RuntimeError(f"{what}: unexpected output:\n{text[-2000:]}")
    return found


def _run_all(commands: list[list[str]], timeout: float) -> list[str]:
    """Run the commands at once; their stdout, or an error with stderr if one fails."""
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    outputs = []
    for command, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({process.returncode}):\n{out}\n{err}")
        outputs.append(out)
    return outputs


def h2load(
    binary: str,
    seconds: int,
    *,
    url: str,
    bodies: tuple[bytes, ...],
    concurrency: int,
    workdir: Path,
    label: str,
) -> Measurement:
    """h2load -D `seconds` with one stream per connection (-m 1); lane i's connections all
    send bodies[i]. Latencies come from h2load's per-request log."""
    commands, logs = [], []
    for lane, clients in enumerate(split(concurrency, len(bodies))):
        name = _slug(label, concurrency, lane)
        body, log = workdir / f"{name}.bin", workdir / f"{name}.h2load.log"
        body.write_bytes(frame(bodies[lane]))
        log.unlink(missing_ok=True)  # h2load appends to an existing log
        logs.append(log)
        commands.append(
            [
                *(binary, "-D", str(seconds), "-c", str(clients), "-m", "1", "-t", "1"),
                *("-H", "content-type: application/grpc", "-H", "te: trailers"),
                *("-d", str(body), f"--log-file={log}", url),
            ]
        )
    result = Measurement("h2load", label, concurrency)
    for out in _run_all(commands, timeout=seconds + 60):
        counts = _match(_H2_REQUESTS, out, "h2load")
        result.completed += int(counts[4])
        result.failed += int(counts[5]) + int(counts[6]) + int(counts[7])
        result.rate += float(_match(_H2_RATE, out, "h2load")[2])
        result.data_bytes += int(_match(_H2_DATA, out, "h2load")[1])
    for log in logs:
        for line in log.read_text().splitlines():
            result.latencies_us.append(int(line.split("\t")[2]))
    return result


def pgbench(
    binary: str,
    seconds: int,
    *,
    database_url: str,
    scripts: list[Script],
    concurrency: int,
    workdir: Path,
    label: str,
) -> Measurement:
    """pgbench -M prepared -T `seconds`: one process per script (lane), -j 2 when a single
    process runs; latencies come from its per-transaction log (--log)."""
    commands, prefixes = [], []
    shares = split(concurrency, len(scripts))
    for lane, clients in enumerate(shares):
        name = _slug(label, concurrency, lane)
        script, prefix = workdir / f"{name}.sql", workdir / f"{name}-pgbench-log"
        script.write_text(scripts[lane].text)
        prefixes.append(prefix)
        threads = min(clients, 2 if len(shares) == 1 else 1)
        variables = [f"-D{name}={value}" for name, value in scripts[lane].variables.items()]
        commands.append(
            [
                *(binary, "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads)),
                *("-T", str(seconds), "-f", str(script), "--log", f"--log-prefix={prefix}"),
                *variables,
                database_url,
            ]
        )
    result = Measurement("pgbench", label, concurrency)
    for out in _run_all(commands, timeout=seconds + 60):
        result.completed += int(_match(_PG_DONE, out, "pgbench")[1])
        failed = _PG_FAILED.search(out)
        result.failed += int(failed[1]) if failed else 0
        result.rate += float(_match(_PG_TPS, out, "pgbench")[1])
    for prefix in prefixes:
        for log in prefix.parent.glob(f"{prefix.name}.*"):
            for line in log.read_text().splitlines():
                latency = line.split()[2]
                if latency.isdigit():
                    result.latencies_us.append(int(latency))
            log.unlink()
    return result
