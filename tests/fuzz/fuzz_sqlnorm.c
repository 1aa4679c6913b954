/* fuzz_sqlnorm: a statement's template (include/sqlnorm.h), made in the
 * kernel from a text the target wrote.  What must hold for any text: no
 * quote and no number survives (a digit only inside a name), the template
 * is no longer than what was read, its hash is the hash of its bytes (what
 * is shown is what was counted), and a template is its own template. */
#include "fuzz.h"

#include "sqlnorm.h"

static __u32 fnv(const char *s)
{
	__u32 h = SQLNORM_FNV_INIT;
	for (; *s; s++)
		h = (h ^ (__u8)*s) * 16777619u;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size), t[PYBPF_SQL_MAX], again[PYBPF_SQL_MAX];
	__u32 h = sqlnorm_template(in, t);
	size_t n = strlen(t), read = strnlen(in, PYBPF_SQL_MAX - 1);
	if (n > read || strchr(t, '\'') || strchr(t, SQLNORM_SKIP))
		abort();
	for (size_t i = 0; i < n; i++)
		if (t[i] >= '0' && t[i] <= '9' && (i == 0 || !sqlnorm_alnum((__u8)t[i - 1])))
			abort();
	if (n && h != (fnv(t) ? fnv(t) : 1))
		abort();
	if (!n && h)
		abort();
	sqlnorm_template(t, again);
	if (strcmp(t, again))
		abort();
	free(in);
	return 0;
}
