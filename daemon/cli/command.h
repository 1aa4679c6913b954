/* command.h - the COMMAND of `pybpfctl record -- COMMAND`: started here,
 * watched while it is profiled, stopped when the recording ends first. */
#ifndef PYBPF_CLI_COMMAND_H
#define PYBPF_CLI_COMMAND_H

#include <stdbool.h>
#include <sys/types.h>

struct command {
	pid_t pid;
	bool reaped;
	bool held;  /* stopped (SIGSTOP) by command_start_held, not yet resumed */
	int status; /* waitpid's, once reaped */
};

enum command_readiness { COMMAND_WAIT, COMMAND_READY, COMMAND_GIVE_UP };
/* Whether the started program can be profiled now (its interpreter is up). */
typedef enum command_readiness (*command_ready_fn)(void *ctx, pid_t pid);

/* Forks and execs argv; 0, or (said on stderr) the exit status to give:
 * 127 when argv[0] is not found, 126 when it cannot run, 1 otherwise. */
int command_start(struct command *c, char **argv);

/* As command_start, but the command runs traced, stopping at each system
 * call, until ready() says it can be profiled: then it is left stopped
 * (c->held) and untraced, so that it can be registered before it runs on;
 * command_resume() continues it.  A command that exits first, or that
 * ready() gives up on, is not held.  Nothing is written to the target; a
 * pybpfctl that dies while tracing takes the command with it. */
int command_start_held(struct command *c, char **argv, command_ready_fn ready, void *ctx);

/* Continues a held command (nothing when it is not held). */
void command_resume(struct command *c);

/* True once the command has exited (and is reaped); never blocks. */
bool command_gone(struct command *c);

/* Ends the command as py-spy does: SIGINT (unless `interrupted`: Ctrl-C sent
 * it already), then SIGTERM and SIGKILL if it has not exited after a grace
 * period each; returns once it is reaped. */
void command_stop(struct command *c, bool interrupted, bool quiet);

/* Waits for the command to end by itself. */
void command_wait(struct command *c);

/* The command's exit status as a shell gives it: its code, or 128+signal. */
int command_exit_code(const struct command *c);

struct elfcache;
struct pyprocess;

/* Starts a Python command and holds it, stopped, once its interpreter is up
 * (pp then describes it), so that even a command of a few milliseconds is
 * registered before it runs on.  With tree (--subprocesses) it need not be
 * Python: one that is not is held at its first system call (*is_python
 * false).  0 (held), -1 (said), or the start's own exit status. */
int command_start_python(struct command *child, char **argv, struct elfcache *elves,
			 struct pyprocess *pp, bool tree, bool *is_python);

#endif
