/* Feature configurations as JSON (a model's earsight.features, --config): parsed, validated,
 * written back, and — when valid and small — made into an extractor run on a short signal. */
#include "audio/es_audio.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *json = fuzz_text(data, n);
    es_feature_config c;
    es_config_default(&c);
    if (es_config_from_json(&c, json, "fuzz") == 0 && es_config_validate(&c) == 0) {
        free(es_config_to_json(&c));
        if (c.n_fft <= 4096 && c.sample_rate <= 48000 && c.win_length <= 4096) {
            es_features *f = es_features_new(&c);
            static float x[8000];
            for (int i = 0; i < 8000; i++)
                x[i] = (float)((i * 7919) % 200 - 100) / 100;
            es_array out;
            if (f && es_features_compute(f, x, 8000, &out) == 0)
                es_array_free(&out);
            es_features_free(f);
        }
    }
    free(json);
    return 0;
}
