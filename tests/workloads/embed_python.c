/* A CPython with a shared libpython: Debian's libpython3.X.so (stripped of
 * .symtab) linked into a program that is not named python.  Runs like
 * python3: embed_python script.py args... */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(int argc, char **argv)
{
	return Py_BytesMain(argc, argv);
}
