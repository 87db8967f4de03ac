/* Test selection by name (lhv.tests=GLOB[,GLOB...]). */
#ifndef XMHF_GLOB_H
#define XMHF_GLOB_H

#include "types.h"

/* Shell-style match of the whole name: '*' any run of characters (also
 * '/'), '?' one character; everything else matches itself. pattern ends at
 * its NUL or at pattern_end, whichever comes first. */
bool glob_match(const char *pattern, const char *pattern_end, const char *name);

/* True when name matches one of the comma-separated globs in list and none
 * of its exclusions (a glob written -GLOB); a list without a glob to include
 * (empty, or exclusions only) includes every name; one of empty globs only
 * (",") none. */
bool glob_list_match(const char *list, const char *name);

#endif
