"""What the peer scripts share: the median of repeated timings, in milliseconds."""
import time


def med(f, reps):
    """Calls f once to warm up, then reps times; the median wall time in ms."""
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2] if len(ts) % 2 else 0.5 * (ts[len(ts) // 2 - 1] + ts[len(ts) // 2])
