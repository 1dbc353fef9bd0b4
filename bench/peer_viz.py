#!/usr/bin/python3
"""The matplotlib side of bench/bench_viz.c: the same figure (1200x600 px, a spectrogram,
the normalised saliency blended over it at alpha 0.5, a colorbar, axis labels, title) drawn
with the Agg backend and saved as PNG, repeated; prints the median in ms.

usage: peer_viz.py SPEC.npy SALIENCY_NORMALISED.npy OUT.png REPEATS
"""
import sys
import numpy as np
import matplotlib
from peer_timing import med
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def render(spec, sal, out):
    fig = plt.figure(figsize=(12, 6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    frames = spec.shape[1]
    extent = (0, frames * 315 / 22050, 0, spec.shape[0])
    ax.imshow(spec, origin="lower", aspect="auto", cmap="gray", extent=extent)
    im = ax.imshow(sal, origin="lower", aspect="auto", cmap="Blues", vmin=0, vmax=1,
                   alpha=0.5, extent=extent)
    fig.colorbar(im, ax=ax, label="|saliency|")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("mel bin")
    ax.set_title("Log-mel spectrogram, blended saliency")
    fig.savefig(out)
    plt.close(fig)


def main():
    spec = np.load(sys.argv[1])
    sal = np.load(sys.argv[2])
    out, reps = sys.argv[3], int(sys.argv[4])
    # med's first call warms up fonts and caches, as the C side opens its font once
    print("median_ms %.3f" % med(lambda: render(spec, sal, out), reps))


if __name__ == "__main__":
    main()
