#!/usr/bin/env node
// ONNX Runtime side of bench/models.sh (onnxruntime-node, which `scripts/deps.sh --peers`
// installs into bench/node_modules): the same model file, input and thread count as
// `earsight bench`. Prints "name ms" lines:
//   load     the session's creation (reading and optimising the model)
//   first    from process start to the end of the first run (what one `node` call pays)
//   forward  the median of RUNS warm runs
//
//   node bench/peer_ort.js MODEL INPUT.npy THREADS RUNS
//   node bench/peer_ort.js --make-input OUT.npy D0 D1 …   a seeded float32 input of that shape
"use strict";
const fs = require("fs");
const { performance } = require("perf_hooks");

// Uniform in [-1, 1) from a 32-bit LCG: any fixed numbers do, as long as every peer reads them.
function makeInput(path, dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2147483648 - 1;
  }
  let head = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(", ")},), }`;
  head += " ".repeat(63 - ((10 + head.length) % 64)) + "\n"; // the data starts 64-aligned
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, head.length & 255, head.length >> 8]);
  fs.writeFileSync(path, Buffer.concat([pre, Buffer.from(head, "latin1"), Buffer.from(v.buffer)]));
}

function readNpy(path) {
  const b = fs.readFileSync(path);
  const hlen = b.readUInt16LE(8), head = b.toString("latin1", 10, 10 + hlen);
  const dims = head.match(/'shape': \(([^)]*)\)/)[1].split(",").filter((s) => s.trim()).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + hlen, b.byteOffset + b.length));
  return { dims, data };
}

function median(t) {
  t.sort((a, b) => a - b);
  const h = t.length >> 1;
  return t.length % 2 ? t[h] : (t[h - 1] + t[h]) / 2;
}

async function main() {
  const a = process.argv.slice(2);
  if (a[0] === "--make-input") return makeInput(a[1], a.slice(2).map(Number));
  const [model, input, threads, runs] = [a[0], a[1], Number(a[2] || 2), Number(a[3] || 21)];
  const ort = require("onnxruntime-node");
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const load = performance.now() - t0;
  const x = readNpy(input);
  const feeds = { [s.inputNames[0]]: new ort.Tensor("float32", x.data, x.dims) };
  await s.run(feeds);
  const first = performance.now(); // performance's origin is the process's start
  const t = [];
  for (let k = 0; k < runs; k++) {
    const u = performance.now();
    await s.run(feeds);
    t.push(performance.now() - u);
  }
  console.log(`load ${load.toFixed(3)}\nfirst ${first.toFixed(3)}\nforward ${median(t).toFixed(3)}`);
}

main().catch((e) => {
  console.error(`peer_ort: ${e.message}`);
  process.exit(1);
});
