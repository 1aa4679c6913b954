/* authz.c - who may profile what. */
#include "service/authz.h"

#include <errno.h>
#include <stdio.h>

#include "sys/procfs.h"

bool authz_may_see(uid_t uid, pid_t pid)
{
	return uid == 0 || procfs_uid(pid) == uid;
}

int authz_check(uid_t uid, pid_t pid, char *why, size_t len)
{
	if (authz_may_see(uid, pid))
		return 0;
	uid_t owner = procfs_uid(pid);
	if (owner == (uid_t)-1) {
		snprintf(why, len, "pid %d: no such process", (int)pid);
		return ESRCH;
	}
	snprintf(why, len,
		 "pid %d belongs to uid %u: you (uid %u) may profile only your own processes; "
		 "ask root",
		 (int)pid, (unsigned)owner, (unsigned)uid);
	return EPERM;
}
