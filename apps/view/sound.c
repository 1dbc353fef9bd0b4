/* The viewer's sound: p plays the shown part of the recording, shift+p what the network heard
 * — the STFT bins under the most salient tenth of the map (per the current sign), resynthesised
 * with the sound's own phase. Without a sound device the viewer says so and goes on. */
#include "apps/view/view.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARD_KEEP 0.1f /* the fraction of time-frequency bins kept, as `earsight sonify` */

/* The device pulls from v->play. A callback of our own rather than SDL's queue: SDL runs its
 * queue thread on a 64 KiB stack, less than OpenBLAS's thread-local storage needs, so
 * SDL_QueueAudio cannot even start here; a callback thread gets the default stack. */
static void SDLCALL feed(void *user, Uint8 *stream, int len)
{
    view *v = user;
    long want = len / (long)sizeof(float), k = v->play_n - v->play_pos;
    k = k < 0 ? 0 : k > want ? want : k;
    if (k)
        memcpy(stream, v->play + v->play_pos, (size_t)k * sizeof(float));
    memset(stream + k * sizeof(float), 0, (size_t)(want - k) * sizeof(float));
    v->play_pos += want; /* the clock: silence after the end counts too */
}

static int open_device(view *v)
{
    if (v->dev)
        return 0;
    if (v->audio_failed)
        return -1;
    SDL_AudioSpec want = {0}, have;
    want.freq = v->in.cfg.sample_rate, want.format = AUDIO_F32SYS, want.channels = 1;
    want.samples = 2048, want.callback = feed, want.userdata = v;
    if (SDL_InitSubSystem(SDL_INIT_AUDIO) != 0 ||
        !(v->dev = SDL_OpenAudioDevice(NULL, 0, &want, &have, 0))) {
        snprintf(v->status, sizeof v->status, "no sound device (%s)", SDL_GetError());
        v->audio_failed = 1;
        return -1;
    }
    v->dev_samples = have.samples;
    SDL_PauseAudioDevice(v->dev, 0);
    return 0;
}

static int load_wave(view *v)
{
    if (v->wave)
        return 0;
    if (es_audio_load(v->file, v->in.cfg.sample_rate, &v->wave, &v->wave_n, NULL) != 0) {
        snprintf(v->status, sizeof v->status, "%s", es_error());
        return -1;
    }
    return 0;
}

/* The sound through a mask of the map's most salient bins (mel map → STFT bins through the
 * model's own filter bank). NULL with v->status set when the features are not a mel STFT. */
static float *heard(view *v, const float *map)
{
    const es_feature_config *c = &v->in.cfg;
    if (c->preset != ES_PRESET_NONE || c->n_mfcc > 0 || c->n_mels <= 0 || v->in.bands != c->n_mels) {
        snprintf(v->status, sizeof v->status, "shift+p needs mel features (not MFCC or Kaldi)");
        return NULL;
    }
    int M = c->n_mels, F = v->in.frames;
    float *m = malloc((size_t)M * F * sizeof *m), *y = malloc((size_t)v->wave_n * sizeof *y);
    if (m && y) /* the sign the overlay shows decides what counts as salient */
        for (size_t i = 0; i < (size_t)M * F; i++)
            m[i] = v->sign == ES_SIGN_POSITIVE ? map[i] : v->sign == ES_SIGN_NEGATIVE ? -map[i] : fabsf(map[i]);
    if (!m || !y || es_resynth(c, m, M, F, v->wave, v->wave_n, c->sample_rate, HEARD_KEEP, -1, 0, y,
                                NULL, v->file) != 0) {
        snprintf(v->status, sizeof v->status, "resynthesis failed: %s", m && y ? es_error() : "out of memory");
        free(y), y = NULL;
    }
    free(m);
    return y;
}

/* A column's first sample, and back: through the figure's own time axis (frame t centred
 * on its window), so the playhead sits where the axis says that time is. */
static double col_seconds(const view *v, double col)
{
    es_axis x, y;
    es_feature_axes(&v->in.cfg, v->in.bands, 0, v->cols, ES_AXES_TIME, &x, &y);
    return x.lo + (x.hi - x.lo) * col / v->cols;
}

static double seconds_col(const view *v, double t)
{
    es_axis x, y;
    es_feature_axes(&v->in.cfg, v->in.bands, 0, v->cols, ES_AXES_TIME, &x, &y);
    return (t - x.lo) / (x.hi - x.lo) * v->cols;
}

void view_play_cols(view *v, int heard_part, const float *map, double c0, double c1)
{
    if (!v->in.audio) {
        snprintf(v->status, sizeof v->status, "no sound to play: the input is a tensor");
        return;
    }
    if (load_wave(v) != 0 || open_device(v) != 0)
        return;
    float *y = heard_part ? heard(v, map) : v->wave;
    if (!y)
        return;
    double sr = v->in.cfg.sample_rate;
    long s0 = (long)(col_seconds(v, c0) * sr), s1 = c1 >= v->cols ? v->wave_n : (long)(col_seconds(v, c1) * sr);
    s0 = s0 < 0 ? 0 : s0 < v->wave_n ? s0 : v->wave_n, s1 = s1 < v->wave_n ? s1 : v->wave_n;
    s1 = s1 > s0 ? s1 : s0;
    float *part = malloc((size_t)(s1 > s0 ? s1 - s0 : 1) * sizeof *part), *old;
    if (!part) {
        snprintf(v->status, sizeof v->status, "sound: out of memory");
    } else {
        memcpy(part, y + s0, (size_t)(s1 - s0) * sizeof *part);
        SDL_LockAudioDevice(v->dev);
        old = v->play, v->play = part, v->play_n = s1 - s0, v->play_pos = 0, v->play_from = s0;
        SDL_UnlockAudioDevice(v->dev);
        free(old);
        snprintf(v->status, sizeof v->status, "playing %s, %.2f–%.2f s",
                 heard_part ? "what it heard" : "the sound", s0 / sr, s1 / sr);
    }
    if (y != v->wave)
        free(y);
}

void view_play(view *v, int heard_part, const float *map)
{
    if (v->sel1 > v->sel0)
        view_play_cols(v, heard_part, map, v->sel0, v->sel1);
    else
        view_play_cols(v, heard_part, map, v->c0, v->c0 + v->span);
}

double view_playhead(view *v)
{
    if (!v->dev || !v->play)
        return -1;
    SDL_LockAudioDevice(v->dev);
    long pos = v->play_pos, n = v->play_n, from = v->play_from;
    SDL_UnlockAudioDevice(v->dev);
    /* the callback's count runs one device buffer ahead of what is heard */
    pos = pos > v->dev_samples ? pos - v->dev_samples : 0;
    if (pos >= n)
        return -1;
    return seconds_col(v, (double)(from + pos) / v->in.cfg.sample_rate);
}

void view_sound_close(view *v)
{
    if (v->dev)
        SDL_CloseAudioDevice(v->dev); /* stops the callback before its buffer goes */
    free(v->wave), free(v->play);
    v->dev = 0, v->wave = NULL, v->play = NULL;
}
