/* FFTW plans, made once per size and shared by every thread. FFTW's planner is not
 * thread-safe, so creation happens under a mutex; execution (the new-array interface) is. */
#include "audio/internal.h"
#include <pthread.h>

#define MAX_PLANS 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int n, inverse;
    fftwf_plan p;
} plans[MAX_PLANS];
static int n_plans;

/* FFTW_MEASURE costs a few milliseconds once per size and buys ~20 % per transform; the
 * arrays it plans on are aligned like every buffer we later execute on (fftwf_malloc). */
static fftwf_plan make(int n, int inverse)
{
    float *r = fftwf_malloc(sizeof(float) * (size_t)n);
    fftwf_complex *c = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(n / 2 + 1));
    fftwf_plan p = NULL;
    if (r && c)
        p = inverse ? fftwf_plan_dft_c2r_1d(n, c, r, FFTW_MEASURE)
                    : fftwf_plan_dft_r2c_1d(n, r, c, FFTW_MEASURE);
    fftwf_free(r);
    fftwf_free(c);
    return p;
}

static fftwf_plan get(int n, int inverse)
{
    fftwf_plan p = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_plans && !p; i++)
        if (plans[i].n == n && plans[i].inverse == inverse)
            p = plans[i].p;
    if (!p && n_plans < MAX_PLANS && (p = make(n, inverse))) {
        plans[n_plans].n = n;
        plans[n_plans].inverse = inverse;
        plans[n_plans++].p = p;
    }
    pthread_mutex_unlock(&lock);
    if (!p)
        es_fail("cannot make an FFT plan of size %d", n);
    return p;
}

fftwf_plan es_fft_r2c(int n) { return get(n, 0); }
fftwf_plan es_fft_c2r(int n) { return get(n, 1); }
