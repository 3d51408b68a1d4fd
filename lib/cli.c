// placeholder
#include "cli.h"
