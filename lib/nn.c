// placeholder
#include "nn.h"
