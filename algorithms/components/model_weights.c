// model_weights: the table of weightings of the ensemble's fit (see model_weights.h).
#include "model_weights.h"

#include <stdio.h>
#include <string.h>

// in the order of MODEL_WEIGHTING_NAMES: ensemble.weights is an index into it
const ModelWeighting MODEL_WEIGHTINGS[] = {
    {"uniform", NULL},
};
const int MODEL_NWEIGHTINGS = (int)(sizeof MODEL_WEIGHTINGS / sizeof *MODEL_WEIGHTINGS);

const char *model_weighting_names(void) {
  static char names[256];
  if (!names[0])
    for (int k = 0; k < MODEL_NWEIGHTINGS; k++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "|" : "",
               MODEL_WEIGHTINGS[k].name);
  return names;
}
