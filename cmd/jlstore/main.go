// Command jlstore inspects, converts, exports and benchmarks joblib files
// from the shell, with no Python runtime. It uses only the public API of
// packages store, ndarray, pickle and compressors.
//
//	jlstore ls [--json] FILE            arrays: path, dtype, shape, offset, sha256
//	jlstore show [--depth N] FILE       the object graph as a tree
//	jlstore dis FILE                    opcodes with offsets, payloads shown
//	jlstore convert [--compress NAME[:LEVEL]] [--protocol N] IN OUT
//	jlstore export IN OUT.npz | jlstore export --npy-dir DIR IN
//	jlstore bench FILE | jlstore bench --size 1GiB [--python]
//	jlstore demo                        the main job on an embedded model
//
// Errors exit with status 1 and one line on stderr,
// "jlstore: FILE: what went wrong (at byte N)"; usage errors exit with
// status 2. Every command takes --help.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand.
type command struct {
	name     string
	synopsis string // arguments after the name
	summary  string
	help     string // more text for --help, ending in an example
	run      func(c *cli, args []string) error
}

var commands []*command

func init() {
	commands = []*command{lsCmd, showCmd, disCmd, convertCmd, exportCmd, benchCmd, demoCmd}
}

// cli is one run of the tool: its outputs and the command being run.
type cli struct {
	stdout, stderr io.Writer
	cmd            *command
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelp reports that --help was given and printed.
var errHelp = errors.New("help printed")

// run runs the tool with args (without the program name) and returns the
// exit status: 0, 1 for a failure, 2 for a usage error. It never panics:
// a panic is reported as one line and exit status 1.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			// A bug, not bad input: still one line, never a trace.
			fmt.Fprintf(stderr, "jlstore: internal error in %s: %s\n", strings.Join(args, " "), oneLine(fmt.Sprint(r)))
			code = 1
		}
	}()
	if len(args) == 0 {
		mainUsage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			if c := lookup(args[1]); c != nil {
				cmdHelp(stdout, c)
				return 0
			}
		}
		mainUsage(stdout)
		return 0
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "jlstore: unknown command %q\n", args[0])
		mainUsage(stderr)
		return 2
	}
	c := &cli{stdout: stdout, stderr: stderr, cmd: cmd}
	err := cmd.run(c, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "jlstore %s: %s\nusage: jlstore %s %s\nRun 'jlstore %s --help' for details.\n",
			cmd.name, ue.msg, cmd.name, cmd.synopsis, cmd.name)
		return 2
	}
	fmt.Fprintln(stderr, errorLine(err))
	return 1
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "jlstore: inspect, convert, export and benchmark joblib files")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  jlstore %s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'jlstore COMMAND --help' for a command's flags and an example.")
}

func cmdHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: jlstore %s %s\n\n%s\n", c.name, c.synopsis, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.help, "\n"))
	}
}

// flags returns a flag set for the command that reports errors as usage
// errors rather than printing them.
func (c *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(c.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args with fs, allowing flags after the positional
// arguments (jlstore ls FILE --json), and checks the number of positional
// arguments. --help prints the command's help and its flags.
func (c *cli) parse(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmdHelp(c.stdout, c.cmd)
				printFlags(c.stdout, fs)
				return nil, errHelp
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			// Everything after "--" is positional.
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < minPos:
		return nil, usagef("missing arguments")
	case maxPos >= 0 && len(pos) > maxPos:
		return nil, usagef("too many arguments: %s", strings.Join(pos[maxPos:], " "))
	}
	return pos, nil
}

// printFlags lists the flags as users type them, with two dashes.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nflags:")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		if name == "" && f.DefValue != "false" {
			name = "VALUE"
		}
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	})
}
