// placeholder
#include "manifest.h"
