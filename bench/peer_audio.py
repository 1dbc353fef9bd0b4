#!/usr/bin/python3
"""The peer of bench_audio.c: torchaudio MelSpectrogram + AmplitudeToDB(top_db=80) with the
same settings on 10 minutes of 22.05 kHz audio, 2 threads, median of 7 runs (after a warm-up)."""
import numpy as np
import torch
import torchaudio.transforms as T
from peer_timing import med

torch.set_num_threads(2)
SR, SECONDS, RUNS = 22050, 600, 7
i = np.arange(SR * SECONDS)
x = 0.3 * np.sin(2 * np.pi * 440 * i / SR) + 0.1 * np.sin(2 * np.pi * 3000.5 * i / SR)
x = torch.from_numpy((x + 0.01 * (np.random.default_rng(1).random(x.size) - 0.5)).astype(np.float32))
mel = T.MelSpectrogram(SR, n_fft=1024, win_length=1024, hop_length=315, f_min=50.0, f_max=11025.0,
                       n_mels=80, power=2.0, norm="slaney", mel_scale="slaney")
db = T.AmplitudeToDB("power", top_db=80.0)
with torch.inference_mode():
    ms = med(lambda: db(mel(x)), RUNS)
    y = db(mel(x))
print("torchaudio_median_ms %.1f" % ms)
print("shape", tuple(y.shape))
