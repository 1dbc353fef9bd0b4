/* FFTW plans, made once per size and shared by every thread. FFTW's planner is not
 * thread-safe, so creation happens under a mutex; execution (the new-array interface) is. */
#include "audio/internal.h"
#include <pthread.h>

#define MAX_PLANS 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int n, inverse, measure;
    fftwf_plan p;
} plans[MAX_PLANS];
static int n_plans;

/* FFTW_ESTIMATE plans in a millisecond; FFTW_MEASURE takes ~100 ms for n = 1024 and saves
 * ~0.5 µs per transform, so it pays only beyond ~200 000 frames (an hour of audio). The arrays
 * planned on are aligned like every buffer we execute on later (fftwf_malloc). */
static fftwf_plan make(int n, int inverse, int measure)
{
    unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;
    float *r = fftwf_malloc(sizeof(float) * (size_t)n);
    fftwf_complex *c = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(n / 2 + 1));
    fftwf_plan p = NULL;
    if (r && c)
        p = inverse ? fftwf_plan_dft_c2r_1d(n, c, r, flags) : fftwf_plan_dft_r2c_1d(n, r, c, flags);
    fftwf_free(r);
    fftwf_free(c);
    return p;
}

static fftwf_plan get(int n, int inverse, int measure)
{
    fftwf_plan p = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_plans && !p; i++)
        if (plans[i].n == n && plans[i].inverse == inverse && plans[i].measure == measure)
            p = plans[i].p;
    if (!p && n_plans < MAX_PLANS && (p = make(n, inverse, measure))) {
        plans[n_plans].n = n;
        plans[n_plans].inverse = inverse;
        plans[n_plans].measure = measure;
        plans[n_plans++].p = p;
    }
    pthread_mutex_unlock(&lock);
    if (!p)
        es_fail("cannot make an FFT plan of size %d", n);
    return p;
}

fftwf_plan es_fft_r2c(int n) { return get(n, 0, 0); }
fftwf_plan es_fft_c2r(int n) { return get(n, 1, 0); }
fftwf_plan es_fft_r2c_measured(int n) { return get(n, 0, 1); }
