// The CA store: see ca_store.h. (Being written for issue 5.)
#include "store/ca_store.h"
