// placeholder
#include "dist.h"
