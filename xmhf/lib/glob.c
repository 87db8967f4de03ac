/* Glob matching for test names: iterative, with one backtrack point for the
 * last '*' seen (enough for '*' and '?', no recursion on the stack). */
#include "glob.h"
#include "string.h"

bool glob_match(const char *pattern, const char *pattern_end, const char *name)
{
    const char *p = pattern, *n = name;
    const char *star = NULL, *star_name = NULL;

    for (;;) {
        bool p_done = p == pattern_end || *p == '\0';
        if (!p_done && *p == '*') {
            star = ++p;
            star_name = n;
        } else if (!p_done && *n && (*p == '?' || *p == *n)) {
            p++;
            n++;
        } else if (p_done && !*n) {
            return true;
        } else if (star && *star_name) {
            /* let the last '*' swallow one more character and retry */
            p = star;
            n = ++star_name;
        } else {
            return false;
        }
    }
}

bool glob_list_match(const char *list, const char *name)
{
    bool any_include = false, any_exclude = false, included = false;

    for (const char *g = list; *g;) {
        const char *end = strchr(g, ',');
        if (!end)
            end = g + strlen(g);
        bool exclude = *g == '-';
        const char *p = g + exclude;
        if (end > p && glob_match(p, end, name)) {
            if (exclude)
                return false;
            included = true;
        }
        any_include |= !exclude && end > p;
        any_exclude |= exclude && end > p;
        g = *end ? end + 1 : end;
    }
    return included || (!any_include && (any_exclude || !*list));
}
