// model_weights: the table of weightings of the ensemble's fit (see model_weights.h).
#include "model_weights.h"

// in the order of MODEL_WEIGHTING_NAMES: ensemble.weights is an index into it
const ModelWeighting MODEL_WEIGHTINGS[] = {
    {"uniform", NULL},
};
const int MODEL_NWEIGHTINGS = (int)(sizeof MODEL_WEIGHTINGS / sizeof *MODEL_WEIGHTINGS);
