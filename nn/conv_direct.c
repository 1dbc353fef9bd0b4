/* Stride-1 convolution on zero-padded planes, in registers: the kernel of thin layers.
 *
 * On padded planes of row width wp, tap t of a stride-1 conv is a shift by off[t], so
 *     y[m][p] = Σ_c Σ_t w[m][c][t] · x[c·plane + p + off[t]]     for p < n
 * is one flat loop over p (the columns past each row's output width are junk the caller
 * crops). A GEMM does this with M = maps; a DenseNet's 15 maps make M = 15, where OpenBLAS
 * spends as long packing its operands (every shifted plane copied once more) as multiplying
 * them, at a quarter of the machine's peak. Here a block of MB maps × PB pixels lives in
 * MB·NV vector accumulators for the whole sum over channels and taps: each input vector read
 * feeds MB fused multiply-adds, and nothing is copied.
 *
 * GCC's vector extensions compile to the widest vectors -march=native has: with AVX-512, a
 * block is 5 maps × 64 pixels in 20 of the 32 zmm registers (2.0–2.3x the AVX2 block's
 * throughput on the BAD DenseNet's layers, measured on a Sapphire Rapids core); otherwise
 * 5 maps × 16 pixels in 10 of 16 ymm registers (AVX2 + FMA), or pairs of SSE registers.
 * The same code on every CPU. */
#include "nn/graph.h"
#include <omp.h>

#ifdef __AVX512F__
enum { VW = 16, NV = 4 }; /* floats a vector, vectors of pixels a block */
#else
enum { VW = 8, NV = 2 };
#endif
typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4))); /* an unaligned load */

/* maps × pixels of a block: MB·NV accumulators + NV inputs + 1 weight within the registers */
enum { MB = 5, PB = ES_CONV_DIRECT_BLOCK };
_Static_assert(PB == VW * NV, "a block's pixels are NV vectors");

/* wk[block][c][t][j] = w[m0 + j][c][t] for blocks of MB maps (the last may be smaller):
 * the MB weights one input vector meets are next to each other. */
void es_conv_direct_pack(const float *w, int m, int c, int taps, float *wk)
{
    for (int m0 = 0; m0 < m; m0 += MB) {
        int mb = m - m0 < MB ? m - m0 : MB;
        float *d = wk + (size_t)m0 * c * taps;
        const float *s = w + (size_t)m0 * c * taps;
        for (int k = 0; k < c * taps; k++) /* in the order of the stores: one stream out */
            for (int j = 0; j < mb; j++)
                d[(size_t)k * mb + j] = s[(size_t)j * c * taps + k];
    }
}

/* One block: mb maps (a constant once inlined) × PB pixels from p. */
static inline __attribute__((always_inline)) void block(const float *x, size_t plane, int c,
                                                        int taps, const int *off,
                                                        const float *wk, int mb, float *y,
                                                        size_t ys, int p)
{
    vf acc[MB][NV];
    for (int j = 0; j < mb; j++)
        for (int v = 0; v < NV; v++)
            acc[j][v] = (vf){0};
    for (int ci = 0; ci < c; ci++) {
        const float *xc = x + ci * plane + p;
        for (int t = 0; t < taps; t++, wk += mb) {
            vf a[NV];
            for (int v = 0; v < NV; v++)
                a[v] = *(const vfu *)(xc + off[t] + v * VW);
            for (int j = 0; j < mb; j++)
                for (int v = 0; v < NV; v++)
                    acc[j][v] += wk[j] * a[v];
        }
    }
    for (int j = 0; j < mb; j++)
        for (int v = 0; v < NV; v++)
            *(vfu *)(y + j * ys + p + v * VW) = acc[j][v];
}

/* y[m][p], p < ns (n rounded up to PB; rows ys >= ns apart) from planes x (c of `plane`
 * floats, readable PB floats past the last plane's end) and the packed kernel wk. */
void es_conv_direct(const float *x, size_t plane, int c, int taps, const int *off,
                    const float *wk, int m, float *y, size_t ys, int n)
{
    int nb = (n + PB - 1) / PB, mblocks = (m + MB - 1) / MB;
    long work = (long)nb * mblocks;
#pragma omp parallel for schedule(static) if (work * c * taps > 4096 && !omp_in_parallel())
    for (long k = 0; k < work; k++) {
        int m0 = (int)(k % mblocks) * MB, p = (int)(k / mblocks) * PB;
        const float *wb = wk + (size_t)m0 * c * taps;
        float *yb = y + (size_t)m0 * ys;
        switch (m - m0 < MB ? m - m0 : MB) {
        case 1: block(x, plane, c, taps, off, wb, 1, yb, ys, p); break;
        case 2: block(x, plane, c, taps, off, wb, 2, yb, ys, p); break;
        case 3: block(x, plane, c, taps, off, wb, 3, yb, ys, p); break;
        case 4: block(x, plane, c, taps, off, wb, 4, yb, ys, p); break;
        default: block(x, plane, c, taps, off, wb, MB, yb, ys, p); break;
        }
    }
}
