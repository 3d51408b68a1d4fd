// placeholder
#include "checkpoint.h"
