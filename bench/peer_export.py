#!/usr/bin/python3
"""The Python way of `earsight export --method guided,gradcam` (bench/export.sh): for each
clip, torchaudio loads and resamples it and makes the model's log-mel (the shipped model's
earsight.features, read from its ONNX metadata), a PyTorch BAD DenseNet (the shipped model's
topology, tests/fixtures/bad_densenet.py; random weights: the time is what is measured) gives
P(class) of every window in one batch, guided backprop (a ReLU backward hook) and Grad-CAM of
the verdict's class over every window in one batch each, maps stitched over the clip, and
matplotlib draws three 1000x450 PNGs (the spectrogram with P over time, each map over the
spectrogram). Prints "clips N seconds S" on stdout.

usage: bench/peer_export.py MODEL.onnx OUTDIR CLIP..."""
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchaudio  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
from bad_densenet import BADDenseNet as Net, randomize  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
GUIDED = [False]
_relu = F.relu


def relu(x, inplace=False):
    """F.relu; in guided mode its backward also drops negative gradients (guided backprop)."""
    y = _relu(x)
    if GUIDED[0] and y.requires_grad:
        y.register_hook(lambda g: g.clamp(min=0))
    return y


F.relu = relu


def config(model):
    meta = {p.key: p.value for p in onnx.load(model).metadata_props}
    return json.loads(meta["earsight.features"])


def logmel(path, c):
    wav, sr = torchaudio.load(path)
    wav = wav.mean(0)
    if sr != c["sample_rate"]:
        wav = torchaudio.functional.resample(wav, sr, c["sample_rate"])
    mel = torchaudio.transforms.MelSpectrogram(
        c["sample_rate"], n_fft=c["n_fft"], win_length=c["win_length"], hop_length=c["hop_length"],
        f_min=c["f_min"], f_max=c["f_max"], n_mels=c["n_mels"], power=c["power"],
        norm=c["mel_norm"], mel_scale=c["mel_scale"])(wav)
    db = torchaudio.transforms.AmplitudeToDB(top_db=c["top_db"])(mel)
    return (db - db.mean()) / (db.std() + 1e-5)  # standardize: global


def windows(x, frames):
    """(mels, T) into (W, 1, frames, mels) windows frames/2 apart, the last padded by repeating."""
    T = x.shape[1]
    hop = max(frames // 2, 1)
    starts = list(range(0, max(T - frames, 0) + 1, hop))
    if starts[-1] + frames < T:
        starts.append(T - frames)
    out = []
    for s in starts:
        w = x[:, s:s + frames]
        if w.shape[1] < frames:
            w = w.repeat(1, frames // w.shape[1] + 1)[:, :frames]
        out.append(w.t())
    return torch.stack(out).unsqueeze(1), starts


def stitch(maps, starts, T, frames):
    """(W, frames, mels) maps back to (mels, T), overlaps averaged."""
    acc = torch.zeros(maps.shape[2], T)
    n = torch.zeros(T)
    for m, s in zip(maps, starts):
        e = min(s + frames, T)
        acc[:, s:e] += m[: e - s].t()
        n[s:e] += 1
    return acc / n.clamp(min=1)


def explain(m, x, cls):
    GUIDED[0] = True
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m(xg)[:, cls].sum(), xg)
    GUIDED[0] = False
    A = m.features(x.clone().requires_grad_(True))
    s = m.fc(A.mean((2, 3)))[:, cls].sum()
    (G,) = torch.autograd.grad(s, A)
    cam = F.relu((G.mean((2, 3), keepdim=True) * A).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
    return g[:, 0].detach(), cam[:, 0].detach()


def figure(spec, overlay, p, dur, title, out):
    fig = plt.figure(figsize=(10, 4.5), dpi=100)
    ax = fig.add_axes([0.08, 0.32, 0.8, 0.6])
    ax.imshow(spec, origin="lower", aspect="auto", cmap="gray" if overlay is not None else "magma",
              extent=[0, dur, 0, spec.shape[0]])
    if overlay is not None:
        a = np.abs(overlay)
        a = a / (np.percentile(a, 98) + 1e-12)
        ax.imshow(np.clip(a, 0, 1), origin="lower", aspect="auto", cmap="Blues", alpha=0.5,
                  extent=[0, dur, 0, spec.shape[0]])
    ax.set_title(title)
    ax.set_ylabel("mel band")
    pa = fig.add_axes([0.08, 0.1, 0.8, 0.15])
    pa.fill_between(np.linspace(0, dur, len(p)), p, alpha=0.3)
    pa.plot(np.linspace(0, dur, len(p)), p)
    pa.set_ylim(0, 1)
    pa.set_xlabel("Time (s)")
    fig.savefig(out)
    plt.close(fig)


def main():
    model, outdir, clips = sys.argv[1], sys.argv[2], sys.argv[3:]
    c = config(model)
    frames = c["frames"]
    m = randomize(Net()).eval()
    for q in m.parameters():
        q.requires_grad_(False)
    os.makedirs(outdir, exist_ok=True)
    t0 = time.perf_counter()
    for path in clips:
        mel = logmel(path, c)
        x, starts = windows(mel, frames)
        with torch.no_grad():
            P = F.softmax(m(x), 1)
        cls = 1 if P[:, 1].max() >= 0.5 else 0  # a detector: the largest window decides
        g, cam = explain(m, x, cls)
        T = mel.shape[1]
        dur = T * c["hop_length"] / c["sample_rate"]
        stem = os.path.join(outdir, os.path.splitext(os.path.basename(path))[0])
        p = P[:, cls].numpy()
        figure(mel.numpy(), None, p, dur, os.path.basename(path), stem + ".spec.png")
        figure(mel.numpy(), stitch(g, starts, T, frames).numpy(), p, dur, "guided", stem + ".guided.png")
        figure(mel.numpy(), stitch(cam, starts, T, frames).numpy(), p, dur, "gradcam",
               stem + ".gradcam.png")
    print("clips %d seconds %.3f" % (len(clips), time.perf_counter() - t0))


if __name__ == "__main__":
    main()
