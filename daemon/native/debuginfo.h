/* debuginfo.h - the names of a stripped ELF file, from where its
 * distribution put them, looked up the way gdb and perf do: a separate debug
 * file by build id (DIR/.build-id/xx/rest.debug), by .gnu_debuglink (next to
 * the file, in its .debug/, or under DIR with the file's directory), and
 * MiniDebugInfo (an xz'd symbol table in .gnu_debugdata).  Inside a
 * container, its own debug files first, then the host's. */
#ifndef PYBPF_DEBUGINFO_H
#define PYBPF_DEBUGINFO_H

#include "native/elfsyms.h"

#define DEBUGINFO_DIR "/usr/lib/debug"

/* Adds to ef (read from fd, the file a process maps as path; root is the
 * prefix under which that process's files are seen, "" for the host's) the
 * symbols of its separate debug information, if it has no .symtab of its
 * own.  dirs: the debug directories (NULL-terminated; NULL: DEBUGINFO_DIR).
 * Returns where ef's names now come from (ef->names). */
enum elf_names debuginfo_apply(struct elf_file *ef, int fd, const char *root, const char *path,
			       const char *const *dirs);

#endif
