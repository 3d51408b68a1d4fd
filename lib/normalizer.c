// placeholder
#include "normalizer.h"
