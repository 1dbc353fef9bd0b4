"""What the peer scripts share: the median of repeated timings, in milliseconds, and the
forward / forward + backward pair of bench/models.sh's models."""
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


def print_forward_and_grad(m, x, reps):
    """Prints the medians of m(x) in inference (forward) and of forward + backward of
    output [0, 0] to the input (grad), as `earsight bench` times them."""
    import torch

    def forward():
        with torch.no_grad():
            m(x)

    def grad():
        xg = x.clone().requires_grad_(True)
        m(xg)[0, 0].backward()

    print("forward", med(forward, reps))
    print("grad", med(grad, reps))
