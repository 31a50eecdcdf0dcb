// POSIX shell quoting for argv arrays sent over SSH (an SSH "exec" is always a shell command line).
//
// Written here rather than taken from shell-quote: shell-quote backslash-escapes every ":", "=" and ","
// (ETCD_INITIAL_CLUSTER\=api7-etcd-1\=http\://...), which is correct but makes `deploy --plan` output
// unreadable for operators who copy it into a terminal. Single quotes are the one POSIX quoting with no
// special characters inside; the unit tests round-trip arbitrary bytes through a real /bin/sh.

const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('a NUL byte cannot be passed through a shell');
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quoteArg).join(' ');
}
