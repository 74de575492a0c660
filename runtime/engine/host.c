/* placeholder until the engine lands */
#include "engine/host.h"
