/* The mel scale, the one rule for audio's filter banks and viz's mel axes. Constants as
 * librosa and torchaudio write them, so the band edges equal theirs to the last bit. */
#include "base/es_base.h"
#include <math.h>

/* Slaney: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4). */
#define SLANEY_SP (200.0 / 3)
#define SLANEY_MIN_LOG_MEL (1000.0 / SLANEY_SP)
#define SLANEY_LOGSTEP (log(6.4) / 27.0)

double es_hz_to_mel(double hz, es_mel_scale s)
{
    if (s == ES_MEL_HTK)
        return 2595.0 * log10(1.0 + hz / 700.0);
    if (hz < 1000.0)
        return hz / SLANEY_SP;
    return SLANEY_MIN_LOG_MEL + log(hz / 1000.0) / SLANEY_LOGSTEP;
}

double es_mel_to_hz(double mel, es_mel_scale s)
{
    if (s == ES_MEL_HTK)
        return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    if (mel < SLANEY_MIN_LOG_MEL)
        return SLANEY_SP * mel;
    return 1000.0 * exp(SLANEY_LOGSTEP * (mel - SLANEY_MIN_LOG_MEL));
}
