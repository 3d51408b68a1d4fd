// placeholder
#include "stats.h"
