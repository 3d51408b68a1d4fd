// placeholder
#include "replay.h"
