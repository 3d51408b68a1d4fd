// placeholder
#include "csvlog.h"
